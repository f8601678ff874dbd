/**
 * The agent's own probe port (AGENT_HEALTH_PORT), for the kubelet or a supervisor, served by
 * the kit's one health handler on the kit's listener. Liveness is "the process answers";
 * readiness is "holds the control-plane stream and is the leader", so a follower replica or a
 * disconnected agent is visibly not ready. /metrics carries the process metrics (memory, event
 * loop, GC) every StreamSpace process exports.
 */
import { createHealthHandler, healthOnly } from "@streamspace/common/health";
import { listen } from "@streamspace/common/listener";
import type { Logger } from "@streamspace/common/log";
import { createMetrics, type Metrics } from "@streamspace/common/metrics";

// Process metrics describe the process, not one agent in it; one registry serves every agent a
// process starts (tests start several), and prom-client's collectors are installed only once.
let processMetrics: Metrics | undefined;

/** What the health endpoints report. */
export interface HealthStatus {
  agentId: string;
  version: string;
  connected: boolean;
  leader: boolean;
  pod?: string;
  sessions: number;
  /** Why the platform takes no sessions now (the Docker engine is down), when it does not. */
  platformProblem?: string;
}

/** A listening health server; close() stops it. */
export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

/** Listens on `host` (AGENT_HEALTH_HOST, loopback by default) at `port` (0 = any free port). */
export async function startHealthServer(
  port: number,
  status: () => HealthStatus,
  host: string,
  log?: Logger,
): Promise<HealthServer> {
  processMetrics ??= createMetrics();
  const handler = createHealthHandler({
    health: status,
    ready: () => {
      const s = status();
      const detail = !s.leader
        ? "not the leader"
        : !s.connected
          ? "not connected to the control plane"
          : "ready";
      return { ready: s.connected && s.leader, detail };
    },
    metrics: processMetrics,
  });
  const listener = await listen({ host, port, log, onRequest: healthOnly(handler) });
  return { port: listener.port, close: () => listener.close(0) };
}
