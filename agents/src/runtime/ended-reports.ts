/**
 * Sessions that ended (stopped or failed) while no control plane heard it. The control plane
 * fails a session as "lost" when an agent's Hello lacks it, so an ending that found no stream
 * must ride in the next Hello instead of vanishing. Two sources feed it: the driver's durable
 * records (`Driver.ended()`: processes that went while the agent was down, sessions it stopped
 * on its way out) and, in memory, events that found no stream while this process ran. Both are
 * dropped once a Welcome answers the Hello that carried them.
 */

import type { Logger } from "@streamspace/common/log";
import type { SessionReport } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import type { Driver, DriverSession } from "./driver.ts";

/** A frame as the runtime queues it; only session events matter here. */
interface Frame {
  payload?: { case?: string; value?: unknown };
}

const isFinal = (s: DriverSession) => s.state === "stopped" || s.state === "failed";

/** The Hello-side memory of endings the control plane has not confirmed. */
export class EndedReports {
  private readonly unsent = new Map<string, DriverSession>();

  constructor(
    private readonly driver: Driver,
    private readonly log: Logger,
    /** Oldest endings beyond this are dropped (the control plane then fails them as lost). */
    private readonly limit = 1024,
  ) {}

  /** An ending whose event could not be queued on a live stream. */
  remember(s: DriverSession): void {
    if (!isFinal(s)) return;
    this.unsent.delete(s.sessionId);
    this.unsent.set(s.sessionId, s);
    if (this.unsent.size > this.limit) {
      const oldest = this.unsent.keys().next().value;
      if (oldest !== undefined) this.unsent.delete(oldest);
    }
  }

  /** The event for this session went out on a live stream; it needs no Hello. */
  sent(sessionId: string): void {
    this.unsent.delete(sessionId);
  }

  /** Final session events among the frames a dead stream never sent. */
  requeue(frames: readonly Frame[]): void {
    for (const f of frames) {
      if (f.payload?.case !== "sessionEvent") continue;
      const r = (f.payload.value as { session?: SessionReport } | undefined)?.session;
      if (r?.state === SessionState.STOPPED || r?.state === SessionState.FAILED) {
        const state = r.state === SessionState.FAILED ? "failed" : "stopped";
        this.remember({ sessionId: r.sessionId, state, reason: r.reason || undefined });
      }
    }
  }

  /** Every ending to report in a Hello whose live inventory is `live`. */
  async forHello(live: readonly DriverSession[]): Promise<DriverSession[]> {
    const skip = new Set(live.map((s) => s.sessionId));
    const out = new Map<string, DriverSession>();
    for (const s of await this.driver.ended()) if (!skip.has(s.sessionId)) out.set(s.sessionId, s);
    for (const s of this.unsent.values()) {
      if (!skip.has(s.sessionId) && !out.has(s.sessionId)) out.set(s.sessionId, s);
    }
    return [...out.values()];
  }

  /** A Welcome answered the Hello that carried `reported`. */
  acknowledged(reported: readonly DriverSession[]): void {
    if (reported.length === 0) return;
    for (const s of reported) this.unsent.delete(s.sessionId);
    this.driver
      .forgetEnded(reported.map((s) => s.sessionId))
      .catch((err: unknown) =>
        this.log.warn("could not drop ended-session records; the next Hello repeats them", { err }),
      );
  }
}
