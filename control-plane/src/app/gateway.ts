/**
 * The domain and agent-gateway part of a pod: the relay ring the agents are told about, the
 * domain services over the database, and the gateway holding agents' streams (with the Redis
 * hub when several pods share agents). The domain reaches the gateway only through
 * gateway-signals.ts, so each piece here is built from pieces already built.
 */

import { systemClock } from "@streamspace/common/clock";
import type { Logger } from "@streamspace/common/log";
import type { Metrics } from "@streamspace/common/metrics";
import { currentTraceContext } from "@streamspace/common/tracing";
import type { Redis } from "ioredis";
import type { Kysely } from "kysely";
import type { ViewerTokenSigner } from "../auth/viewer-tokens.ts";
import type { ControlPlaneConfig } from "../config.ts";
import { createSessionActivity, type SessionActivity } from "../domain/session-activity.ts";
import type { Gateway } from "../gateway/agent-gateway.ts";
import { RedisAgentHub } from "../hub/redis-agent-hub.ts";
import { createRedisRelayRingSource } from "../relay-ring/redis-relay-ring-source.ts";
import { createRelayActivitySource } from "../relay-ring/relay-activity-source.ts";
import {
  type ClosableRelayRingSource,
  createStaticRelayRingSource,
  parseRelayUrls,
} from "../relay-ring/static-relay-ring-source.ts";
import { createPgCore, type PgCore } from "../store/pg-core.ts";
import { listIdleCandidates } from "../store/pg-idle-candidates.ts";
import { RedisSessionChangeBus } from "../store/redis-session-change-bus.ts";
import type { Database } from "../store/schema.ts";
import { createGatewaySignals } from "./gateway-signals.ts";
import { createPgGateway } from "./pg-gateway.ts";

/** The domain services the transports call, and the gateway they reach agents through. */
export interface GatewayPart {
  core: PgCore;
  gateway: Gateway;
  /** QoE figures and idle hibernation, read from the relays (domain/session-activity.ts). */
  activity: SessionActivity;
  close(): Promise<void>;
}

type GatewayConfig = Pick<
  ControlPlaneConfig,
  | "relayUrls"
  | "redisUrl"
  | "hubBackend"
  | "podName"
  | "agentBootstrapToken"
  | "agentAutoApprove"
  | "agentHeartbeatIntervalMs"
  | "agentHeartbeatTimeoutMs"
  | "agentMaxStreamsPerCredential"
>;

/** The ring agents get in Welcome: a static list, Redis discovery, or none. */
async function openRelayRing(config: GatewayConfig, log: Logger): Promise<ClosableRelayRingSource> {
  if (config.relayUrls.length)
    return createStaticRelayRingSource(parseRelayUrls(config.relayUrls.join(",")));
  if (config.redisUrl)
    return createRedisRelayRingSource({
      url: config.redisUrl,
      onError: (err) => log.warn("relay ring", { err }),
    });
  return createStaticRelayRingSource([]);
}

/** Builds the domain over `db`, then the gateway over the domain, then connects the two. */
export async function createGatewayPart(opts: {
  config: GatewayConfig;
  db: Kysely<Database>;
  redis: Redis | undefined;
  tokenSigner: ViewerTokenSigner;
  metrics: Metrics;
  log: Logger;
}): Promise<GatewayPart> {
  const { config, db, log } = opts;
  const ring = await openRelayRing(config, log);
  const signals = createGatewaySignals();
  const core = createPgCore(db, {
    traceContext: currentTraceContext,
    bus: opts.redis
      ? new RedisSessionChangeBus(opts.redis, (msg, err) => log.error(msg, { err }))
      : undefined,
    notifier: signals,
    viewerTokens: opts.tokenSigner,
    cutter: signals,
    pusher: signals,
    log: (msg, fields) => log.error(msg, fields),
  });
  const dispatched = opts.metrics.counter(
    "streamspace_commands_dispatched_total",
    "Commands sent to agents.",
  );
  const failed = opts.metrics.counter(
    "streamspace_commands_failed_total",
    "Commands that failed or expired.",
    { labels: ["reason"] },
  );
  failed.inc({ reason: "expired" }, 0);
  let gateway: Gateway;
  try {
    gateway = await createPgGateway({
      // The Redis hub routes commands to the pod holding an agent's stream.
      hub:
        config.hubBackend === "redis" && config.redisUrl
          ? new RedisAgentHub({
              pod: config.podName,
              url: config.redisUrl,
              routeTtlMs: 3 * config.agentHeartbeatIntervalMs,
              log: log.child({ component: "agent-hub" }),
            })
          : undefined,
      db,
      reports: core.reports,
      commands: core.store.commands,
      onDispatched: (n) => dispatched.inc(n),
      onExpired: (n) => failed.inc({ reason: "expired" }, n),
      log: log.child({ component: "agent-gateway" }),
      pod: config.podName,
      ring,
      bootstrapToken: config.agentBootstrapToken,
      autoApprove: config.agentAutoApprove,
      heartbeatIntervalMs: config.agentHeartbeatIntervalMs,
      heartbeatTimeoutMs: config.agentHeartbeatTimeoutMs,
      maxStreamsPerCredential: config.agentMaxStreamsPerCredential,
      relayToken: async (agentId) => (await opts.tokenSigner.signRelayToken(agentId)).token,
    });
  } catch (err) {
    await ring.close().catch(() => {});
    throw err;
  }
  const unlisten = signals.listen(gateway);
  const idleHibernations = opts.metrics.counter(
    "streamspace_sessions_idle_hibernated_total",
    "Sessions this pod hibernated because nobody used them for their template's idle timeout.",
  );
  const activity = createSessionActivity({
    source: createRelayActivitySource({
      ring,
      token: async () => (await opts.tokenSigner.signRelayReadToken(config.podName)).token,
    }),
    candidates: () => listIdleCandidates(db),
    hibernateIdle: (id, reason) => core.sessions.hibernateIdle(id, reason),
    getSession: (p, input) => core.sessions.get(p, input),
    clock: systemClock,
    log: (msg, fields) => log.warn(msg, fields),
    onIdleHibernated: () => idleHibernations.inc(),
  });
  activity.start();
  return {
    core,
    gateway,
    activity,
    async close() {
      await activity.stop();
      unlisten();
      await gateway.close();
      await core.bus.close();
      await ring.close();
    },
  };
}
