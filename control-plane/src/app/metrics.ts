/**
 * The pod's gauges of DESIGN.md §8 that are read at scrape time rather than kept up to date:
 * nothing on a hot path has to remember them, and a series disappears as soon as what it
 * describes does. (The counters live where their events happen: app/gateway.ts for commands,
 * app/http.ts for request durations.)
 */
import type { Logger } from "@streamspace/common/log";
import type { Metrics } from "@streamspace/common/metrics";
import type { SessionState } from "../domain/types.ts";
import type { Gateway } from "../gateway/agent-gateway.ts";

/**
 * What "active" means for streamspace_sessions_active: a session placed on an agent and not
 * finished, i.e. holding one of the agent's slots — scheduled, starting, running, hibernating,
 * hibernated, waking and stopping. Not pending (not placed yet), stopped or failed.
 */
export const ACTIVE_SESSION_STATES: readonly SessionState[] = [
  "scheduled",
  "starting",
  "running",
  "hibernating",
  "hibernated",
  "waking",
  "stopping",
];

/** A scrape waits at most this long for the database before it reports no session counts. */
const COUNT_DEADLINE_MS = 2_000;

/** Registers the scrape-time gauges on `metrics`. */
export function registerPodGauges(opts: {
  metrics: Metrics;
  gateway: Pick<Gateway, "connectedAgents" | "localAgentIds" | "connection">;
  countSessions: (states: readonly SessionState[]) => Promise<Map<SessionState, number>>;
  log: Logger;
}): void {
  const { metrics, gateway } = opts;
  metrics.gauge("streamspace_agents_connected", "Agents holding a stream to this pod.", {
    collect: () => gateway.connectedAgents(),
  });
  metrics.gauge(
    "streamspace_sessions_active",
    "Sessions placed on an agent and not finished, by state. Read from Postgres, so every pod " +
      "reports the same cluster-wide numbers: aggregate across pods with max, not sum.",
    {
      labels: ["state"],
      collect: async () => {
        // A slow or lost database must not hang the whole scrape: without an answer in time
        // the series are absent for this scrape rather than stale.
        const counts = await withDeadline(
          opts.countSessions(ACTIVE_SESSION_STATES),
          COUNT_DEADLINE_MS,
        ).catch((err: unknown) => {
          opts.log.warn("metrics: could not count sessions", { err });
          return undefined;
        });
        if (!counts) return [];
        return ACTIVE_SESSION_STATES.map((state) => [{ state }, counts.get(state) ?? 0] as const);
      },
    },
  );
  metrics.gauge(
    "streamspace_agent_heartbeat_last_seen",
    "Unix time in seconds when each agent whose stream this pod holds was last heard from " +
      "(heartbeat or any other message). One series per held stream; it goes when the stream does.",
    {
      labels: ["agent_id"],
      collect: () =>
        gateway.localAgentIds().flatMap((id) => {
          const conn = gateway.connection(id);
          return conn ? [[{ agent_id: id }, conn.lastSeenMs / 1000] as const] : [];
        }),
    },
  );
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
