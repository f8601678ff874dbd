/**
 * The seam between the agent runtime and the agent side of the VNC tunnel (agents/src/relay).
 * The runtime only tells the tunnel what changed; it never waits on it, so a slow relay can
 * never stall the control stream.
 */
import type { RelayRing } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";

/** Receives the relay ring and the live session endpoints from the runtime. */
export interface RelayHook {
  updateRing(ring: RelayRing): void;
  sessionsChanged(sessions: ReadonlyMap<string, { host: string; port: number }>): void;
  close(): Promise<void>;
}
