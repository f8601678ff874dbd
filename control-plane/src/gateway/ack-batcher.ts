/**
 * Command acks from every stream on this pod, written to the outbox in batches: at 1,000
 * commands a second one UPDATE per ack is 1,000 statements a second, while one UPDATE in
 * flight at a time absorbs whatever arrived during the previous one (the batch grows with the
 * load). Under load a claim statement runs every few milliseconds anyway, so acks first wait
 * up to `holdMs` for the next claim to carry them (take(), PgCommandStore.claimDue: one
 * statement instead of two); only acks no claim picked up get a write of their own. A lost
 * write costs nothing but time: the row stays "sent", is redelivered after its ack deadline,
 * and the agent acks again.
 */
import type { GatewayLogger } from "./gateway-ports.ts";
import type { CommandAckRecord, OutboxClaims } from "./outbox-claims.ts";

/** Acks buffered before add() makes its caller (a stream's read loop) wait for a write. */
const DEFAULT_LIMIT = 10_000;

/**
 * How long acks wait for a claim to carry them. Acks are not on any latency path (the ack
 * deadline is seconds); a few ms is enough for a busy pod's next claim to come by.
 */
export const ACK_HOLD_MS = 5;

/** Buffers acks and keeps at most one batched UPDATE in flight. */
export class AckBatcher {
  private pending: CommandAckRecord[] = [];
  private inFlight: Promise<void> | undefined;
  /** Ends the hold early (a claim took everything, so nothing is left to wait for). */
  private endHold: (() => void) | undefined;

  constructor(
    private readonly outbox: Pick<OutboxClaims, "acknowledge">,
    private readonly log: GatewayLogger,
    private readonly limit = DEFAULT_LIMIT,
    private readonly holdMs = ACK_HOLD_MS,
  ) {}

  /** Hands every waiting ack to a claim statement that will write them (claimDue's `acks`). */
  take(): CommandAckRecord[] {
    const batch = this.pending;
    this.pending = [];
    this.endHold?.();
    return batch;
  }

  /**
   * Queues an ack. Resolves at once unless the buffer is full; then it resolves once the
   * write in flight is done, which slows the reading stream instead of growing the buffer.
   */
  add(ack: CommandAckRecord): Promise<void> {
    this.pending.push(ack);
    if (!this.inFlight) this.inFlight = this.drain();
    return this.pending.length >= this.limit ? this.inFlight : Promise.resolve();
  }

  /** True while acks wait for their write or a write is in flight. */
  get busy(): boolean {
    return this.inFlight !== undefined || this.pending.length > 0;
  }

  /**
   * Resolves once every ack added so far is written (or its write failed) and no write is in
   * flight: close() waits here, and so do tests instead of sleeping.
   */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async drain(): Promise<void> {
    // Wait for a claim to take them; acks that arrive meanwhile share the same write.
    await new Promise<void>((r) => {
      if (this.holdMs <= 0) return void setImmediate(r);
      const timer = setTimeout(r, this.holdMs);
      this.endHold = () => {
        clearTimeout(timer);
        r();
      };
    });
    this.endHold = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.outbox.acknowledge(batch);
      } catch (err) {
        this.log.warn("could not record command acks; they are redelivered and acked again", {
          count: batch.length,
          err: String(err),
        });
      }
    }
    this.inFlight = undefined;
  }
}
