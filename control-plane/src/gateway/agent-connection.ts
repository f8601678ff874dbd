/**
 * One live agent stream on this pod: its outbound queue, liveness and identity. Everything that
 * wants to talk to an agent (outbox delivery, ring updates, revocation, drain) goes through
 * send()/cut(), so the bound and the close semantics live in one place.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BoundedQueue } from "@streamspace/common/bounded-queue";
import {
  type ControlMessage,
  ControlMessageSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import type { AgentCapacity } from "./agent-registry.ts";

/** A stream the gateway holds; ids are random so a reconnect is never mistaken for the old one. */
export class AgentConnection {
  readonly outbound: BoundedQueue<ControlMessage>;
  lastSeenMs: number;
  lastSequence = 0n;
  capacity: AgentCapacity | undefined;
  approved: boolean;
  /** Why the stream ended, once it has; later sends are dropped. */
  closedReason: string | undefined;

  constructor(
    readonly agentId: string,
    readonly connectionId: string,
    opts: { nowMs: number; approved: boolean; outboundLimit: number },
  ) {
    this.outbound = new BoundedQueue(opts.outboundLimit);
    this.lastSeenMs = opts.nowMs;
    this.approved = opts.approved;
  }

  /** True while the stream can carry frames. */
  get open(): boolean {
    return this.closedReason === undefined;
  }

  /**
   * Queues a frame. A full queue means the agent stopped reading: the stream is cut with
   * RESOURCE_EXHAUSTED rather than buffering without bound; the agent reconnects and the outbox
   * redelivers whatever was not acknowledged.
   */
  send(message: ControlMessage): boolean {
    if (!this.open) return false;
    if (this.outbound.push(message)) return true;
    this.cut(
      new ConnectError(
        "The agent did not read its stream fast enough; reconnect.",
        Code.ResourceExhausted,
      ),
    );
    return false;
  }

  /** Sends Reconnect, then ends the stream cleanly (drain, supersede). */
  reconnect(delayMs: number, reason: string): void {
    if (!this.open) return;
    this.outbound.push(
      create(ControlMessageSchema, {
        payload: {
          case: "reconnect",
          value: {
            reason,
            delay: {
              seconds: BigInt(Math.floor(delayMs / 1000)),
              nanos: (delayMs % 1000) * 1_000_000,
            },
          },
        },
      }),
    );
    this.closedReason = reason;
    this.outbound.close();
  }

  /** Ends the stream at once with an error status (revocation, heartbeat timeout). */
  cut(err: ConnectError): void {
    if (!this.open) return;
    this.closedReason = err.rawMessage;
    this.outbound.fail(err);
  }

  /** Marks the stream closed because the agent went away. */
  ended(reason: string): void {
    if (!this.open) return;
    this.closedReason = reason;
    this.outbound.close();
  }
}
