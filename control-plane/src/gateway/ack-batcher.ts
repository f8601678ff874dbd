/**
 * Command acks from every stream on this pod, written to the outbox in batches: at 1,000
 * commands a second one UPDATE per ack is 1,000 statements a second, while one UPDATE in
 * flight at a time absorbs whatever arrived during the previous one (the batch grows with the
 * load, and a lone ack still goes out at once). A lost write costs nothing but time: the row
 * stays "sent", is redelivered after its ack deadline, and the agent acks again.
 */
import type { GatewayLogger } from "./gateway-ports.ts";
import type { CommandAckRecord, OutboxClaims } from "./outbox-claims.ts";

/** Acks buffered before add() makes its caller (a stream's read loop) wait for a write. */
const DEFAULT_LIMIT = 10_000;

/** Buffers acks and keeps at most one batched UPDATE in flight. */
export class AckBatcher {
  private pending: CommandAckRecord[] = [];
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly outbox: Pick<OutboxClaims, "acknowledge">,
    private readonly log: GatewayLogger,
    private readonly limit = DEFAULT_LIMIT,
  ) {}

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
    // Start in the next turn, so acks that arrive in the same turn share the first write.
    await new Promise<void>((r) => setImmediate(r));
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
