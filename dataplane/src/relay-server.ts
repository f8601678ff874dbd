/**
 * One relay process on one port, composed from its parts: the kit's listener tells HTTP/1.1
 * (browsers: the viewer path, /health, /ready, /metrics) from cleartext HTTP/2 (agents: the
 * RelayService) and claims agents' raw data channels by their first byte; ring membership
 * decides which sessions this relay owns. Shutdown order: leave the ring first (so sessions
 * move), then close viewers with 1001, then the port.
 */
import { type Listener, listen } from "@streamspace/common/listener";
import { createLogger } from "@streamspace/common/log";
import { createKeySource, JtiSet } from "@streamspace/common/viewer-token";
import { AgentRegistry } from "./agent-registry.ts";
import { handleAgentStream } from "./agent-service.ts";
import type { RelayConfig } from "./config.ts";
import { acceptDataChannel, isDataChannel } from "./data-channel.ts";
import { parseDirectNets } from "./direct-path.ts";
import { type Membership, staticMembership } from "./membership.ts";
import { RelayMetrics } from "./metrics.ts";
import { redisMembership } from "./redis-membership.ts";
import { createRelayRoutes } from "./relay-routes.ts";
import { QoeBook } from "./session-qoe.ts";
import { createViewerPath, type RelayLog } from "./viewer-path.ts";

/** A running relay; close() drains viewers and leaves the ring. */
export interface RelayServer {
  port: number;
  url: string;
  metrics: RelayMetrics;
  registry: AgentRegistry;
  membership: Membership;
  /** Per-session QoE and last input, as served on /activity. */
  qoe: QoeBook;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a relay from config; `port` 0 picks a free port (tests). */
export async function startRelayServer(
  config: RelayConfig,
  opts: {
    log?: RelayLog;
    membership?: Membership;
    /**
     * Raw TCP data channels for agents: "on" (default), "off" (offer none, as relays before
     * them did), "refuse" (offer but refuse to attach; tests the agent's fallback).
     */
    dataChannel?: "on" | "off" | "refuse";
  } = {},
): Promise<RelayServer> {
  const log = opts.log ?? createLogger({ level: config.logLevel, base: { relay: config.relayId } });
  const metrics = new RelayMetrics(config.relayId);
  const keys = createKeySource({ jwks: config.viewerJwks, jwksUrl: config.viewerJwksUrl });
  const jtis = new JtiSet();
  const dataChannel = opts.dataChannel ?? config.dataChannel ?? "on";
  const nets = parseDirectNets(config.directNets ?? "");
  if (typeof nets === "string") throw new Error(`RELAY_DIRECT_NETS: ${nets}`);
  const registry: AgentRegistry = new AgentRegistry(
    config.relayId,
    () => {
      metrics.agentsAttached = registry.agents;
      metrics.sessionsAttached = registry.sessions;
    },
    dataChannel !== "off",
    config.directNets ? nets : undefined,
  );
  const self = { id: config.relayId, url: config.publicUrl };
  // Register in the ring only once we listen: agents dial a member as soon as it appears, and
  // a refused first dial would make them route around this relay for SUSPECT_MS.
  let membership: Membership =
    opts.membership ?? staticMembership(self, config.redisUrl ? [] : (config.staticMembers ?? []));
  let joined = !config.redisUrl || opts.membership !== undefined;
  let draining = false;
  const qoe = new QoeBook(metrics);

  const viewers = createViewerPath({
    relayId: config.relayId,
    keys,
    jtis,
    registry,
    membership: () => membership,
    metrics,
    qoe,
    log,
    tunnelSetupTimeoutMs: config.tunnelSetupTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    maxViewersPerSession: config.maxViewersPerSession ?? 10,
    draining: () => draining,
  });
  const listener: Listener = await listen({
    host: config.host,
    port: config.port,
    noDelay: true,
    onRequest: createRelayRoutes({
      relayId: config.relayId,
      metrics,
      registry,
      membership: () => membership,
      state: () => ({ draining, joined }),
      debugToken: config.debugToken,
      qoe,
      keys,
    }),
    onUpgrade: viewers.onUpgrade,
    onStream: (stream, headers) =>
      void handleAgentStream(stream, headers, { keys, registry, log, onMetricsChange: () => {} }),
    claim: (socket, first) => {
      if (!isDataChannel(first)) return false;
      if (dataChannel === "on") acceptDataChannel(socket, first, registry);
      else socket.destroy();
      return true;
    },
    onSession: (session) => session.setLocalWindowSize?.(8 * 1024 * 1024),
    http1: { keepAliveTimeout: 5_000 },
    // Large frames and windows: VNC updates are bulky, and fewer frames means fewer JS callbacks.
    http2: { settings: { initialWindowSize: 2 * 1024 * 1024, maxFrameSize: 1024 * 1024 } },
    // Agents ping their relay links themselves (agents/src/relay/relay-link.ts).
    keepaliveMs: 0,
  });
  if (!joined && config.redisUrl) {
    try {
      membership = await redisMembership({
        self,
        url: config.redisUrl,
        ttlMs: config.membershipTtlMs,
        prefix: config.redisPrefix,
        onError: (err) =>
          log.warn("relay membership: redis unreachable, keeping the last ring", { err }),
        onRing: (r) =>
          log.info("relay ring changed", { epoch: r.epoch, members: r.members.map((m) => m.id) }),
      });
      joined = true;
    } catch (err) {
      await listener.close(0);
      throw new Error("join the relay ring in Redis", { cause: err });
    }
  }

  const idleTimer = setInterval(
    viewers.sweepIdle,
    Math.min(1000, Math.max(50, Math.floor(config.idleTimeoutMs / 4))),
  );
  const sweepTimer = setInterval(() => jtis.sweep(), 5_000);
  // Rates over 2 s windows: short enough for a live overlay, long enough to smooth bursts.
  const qoeTimer = setInterval(() => qoe.tick(), 2_000);
  idleTimer.unref();
  sweepTimer.unref();
  qoeTimer.unref();
  log.info("relay listening", {
    port: listener.port,
    id: config.relayId,
    publicUrl: config.publicUrl,
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      clearInterval(idleTimer);
      clearInterval(sweepTimer);
      clearInterval(qoeTimer);
      await membership.close();
      registry.close();
      viewers.closeAll(1001, "relay is shutting down; reconnect");
      await listener.close(0);
      viewers.close();
    })();
    return closing;
  };
  return {
    port: listener.port,
    url: listener.url,
    metrics,
    registry,
    membership,
    qoe,
    close,
    [Symbol.asyncDispose]: close,
  };
}
