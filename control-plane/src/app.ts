/**
 * Composition root of a control-plane pod: the only file that knows every part. Parts are
 * built in dependency order (storage → auth → domain → gateway → transports → HTTP) and torn
 * down in reverse, so a stop never leaves a stream writing to a closed database.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { currentTraceContext } from "@streamspace/common/tracing";
import { Redis } from "ioredis";
import { AuthCore } from "./auth/auth-core.ts";
import { bootstrapAdmin } from "./auth/bootstrap-admin.ts";
import { createAuthInterceptor } from "./auth/connect-auth-interceptor.ts";
import { RedisRevocationStore } from "./auth/redis-revocation-store.ts";
import { MemoryRevocationStore } from "./auth/revocation-store.ts";
import { loadSigningKeys } from "./auth/signing-keys.ts";
import { UserAdmin } from "./auth/user-admin.ts";
import { createViewerTokenSigner } from "./auth/viewer-tokens.ts";
import type { ControlPlaneConfig } from "./config.ts";
import { registerAuthServices } from "./connect/auth-service.ts";
import { registerCoreServices } from "./connect/register-core-services.ts";
import { createTraceInterceptor } from "./connect/trace-interceptor.ts";
import type { Gateway } from "./gateway/agent-gateway.ts";
import { registerAgentGateway } from "./gateway/agent-gateway.ts";
import { RedisAgentHub } from "./hub/redis-agent-hub.ts";
import type { Logger } from "./log.ts";
import { createRedisRelayRingSource } from "./relay-ring/redis-relay-ring-source.ts";
import {
  createStaticRelayRingSource,
  parseRelayUrls,
} from "./relay-ring/static-relay-ring-source.ts";
import {
  type HttpServer,
  pathOf,
  type RouteHandler,
  sendJson,
  startHttpServer,
  type UpgradeHandler,
} from "./server/http-server.ts";
import { MetricsRegistry } from "./server/metrics.ts";
import { createStaticHandler } from "./server/static-files.ts";
import { createVncProxy } from "./server/vnc-proxy.ts";
import { createDatabase, migrateToLatest } from "./store/database.ts";
import { createPgAuthStore } from "./store/pg-auth-store.ts";
import { createPgCore } from "./store/pg-core.ts";
import { createPgGateway } from "./store/pg-gateway.ts";
import { RedisSessionChangeBus } from "./store/redis-session-change-bus.ts";
import { seedDefaultTemplates } from "./store/seed.ts";
import { createTrpcHandlers } from "./trpc/adapter.ts";

export const VERSION = "0.1.0";

/** A running pod. */
export interface ControlPlane {
  port: number;
  url: string;
  /** SIGTERM path: not-ready, agents told to reconnect elsewhere, in-flight work finished. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** What /health and /ready report about one dependency. */
export type CheckResult = { ok: boolean; detail?: string };

/** Starts a pod from its configuration. */
export async function createControlPlane(
  config: ControlPlaneConfig,
  log: Logger,
): Promise<ControlPlane> {
  const metrics = new MetricsRegistry();
  const closers: Array<() => Promise<void>> = [];
  const connectRoutes: Array<(router: ConnectRouter) => void> = [];
  const routes: RouteHandler[] = [];
  const upgrades: Array<{ prefix: string; handle: UpgradeHandler }> = [];
  const checks: Record<string, () => Promise<CheckResult>> = {};
  let connectedAgents = () => 0;
  let draining = false;
  let drainParts = async () => {};

  const errLog = (msg: string, err: unknown) => log.error(msg, { err });

  // --- storage ---
  const { db, kind } = await createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
  });
  closers.unshift(() => db.destroy());
  await migrateToLatest(db);
  await seedDefaultTemplates(db);
  checks.database = async () => {
    await db.selectFrom("templates").select("id").limit(1).execute();
    return { ok: true, detail: kind };
  };

  // --- redis (routing, revocation, session changes across pods) ---
  let redis: Redis | undefined;
  if (config.redisUrl) {
    redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    let redisDown = false;
    redis.on("error", (err) => {
      if (!redisDown)
        log.error("redis unreachable; commands reach only agents on this pod until it returns", {
          err: err.message,
        });
      redisDown = true;
    });
    redis.on("ready", () => {
      if (redisDown) log.info("redis is back; routing across pods restored");
      redisDown = false;
    });
    const r = redis;
    closers.unshift(async () => void r.disconnect());
    checks.redis = async () => ({ ok: r.status === "ready", detail: r.status });
  }

  // --- auth ---
  const authStore = createPgAuthStore(db);
  const signingKeys = await loadSigningKeys({
    keyFile: config.signingKeyFile,
    dataDir: config.dataDir,
  });
  const tokenSigner = createViewerTokenSigner(signingKeys);
  const jwtSecret = config.jwtSecret ?? persistentJwtSecret(config.dataDir);
  const revocations = redis
    ? new RedisRevocationStore(redis, { log: errLog })
    : new MemoryRevocationStore();
  const auth = new AuthCore({ store: authStore, jwtSecret, revocations });
  const users = new UserAdmin({ store: authStore, onDisabled: (id) => auth.revokeAllForUser(id) });
  await bootstrapAdmin(authStore.users, { ADMIN_PASSWORD: config.adminPassword });
  routes.push((req, res) =>
    pathOf(req) === "/.well-known/jwks.json" ? sendJson(res, 200, signingKeys.jwks) : false,
  );

  // --- relays ---
  const ring = config.relayUrls.length
    ? createStaticRelayRingSource(parseRelayUrls(config.relayUrls.join(",")))
    : config.redisUrl
      ? await createRedisRelayRingSource({
          url: config.redisUrl,
          onError: (err) => log.warn("relay ring", { err }),
        })
      : createStaticRelayRingSource([]);
  closers.unshift(() => ring.close());

  // --- domain + gateway ---
  // The gateway and the core need each other (commands out, reports in); `gw` is set below.
  let gw: Gateway | undefined;
  const bus = redis ? new RedisSessionChangeBus(redis!, errLog) : undefined;
  const core = createPgCore(db, {
    traceContext: currentTraceContext,
    bus,
    notifier: { commandsEnqueued: (agentId: string) => gw?.commandsEnqueued(agentId) },
    viewerTokens: tokenSigner,
    cutter: {
      cut: (agentId: string) => gw?.cutAgent(agentId, "credential revoked") ?? Promise.resolve(),
    },
    pusher: {
      credentialIssued: (agentId: string, cred: string) => void gw?.issueCredential(agentId, cred),
    },
  });
  const dispatched = metrics.counter(
    "streamspace_commands_dispatched_total",
    "Commands sent to agents.",
  );
  const failed = metrics.counter(
    "streamspace_commands_failed_total",
    "Commands that failed or expired.",
  );
  gw = await createPgGateway({
    // gateway helper: the Redis hub routes commands to the pod holding an agent's stream.
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
    onDispatched: (n) => dispatched.inc({}, n),
    onExpired: (n) => failed.inc({ reason: "expired" }, n),
    log: log.child({ component: "agent-gateway" }),
    pod: config.podName,
    ring,
    bootstrapToken: config.agentBootstrapToken,
    autoApprove: config.agentAutoApprove,
    heartbeatIntervalMs: config.agentHeartbeatIntervalMs,
    heartbeatTimeoutMs: config.agentHeartbeatTimeoutMs,
    relayToken: async (agentId) => (await tokenSigner.signRelayToken(agentId)).token,
  });
  const gateway = gw;
  closers.unshift(() => gateway.close());
  connectedAgents = () => gateway.connectedAgents();

  // --- Connect services ---
  let grpcHealth: ReturnType<typeof registerCoreServices> | undefined;
  connectRoutes.push((router) => {
    grpcHealth = registerCoreServices(router, {
      sessions: core.sessions,
      templates: core.templates,
      agents: core.agents,
      log: errLog,
    });
    registerAuthServices(router, { auth, users, log: errLog });
    registerAgentGateway(router, gateway);
  });
  // --- tRPC (helper "web"): the browser's API over the same domain services; HTTP at /trpc/*,
  // subscriptions over the WebSocket at /trpc. Pushed before the static handler on purpose.
  const trpc = createTrpcHandlers({
    auth,
    sessions: core.sessions,
    templates: core.templates,
    agents: core.agents,
    log: (msg, fields) => log.error(msg, fields),
  });
  routes.push((req, res) => trpc.handleHttp(req, res));
  upgrades.push({
    prefix: "/trpc",
    handle: (req, socket, head) => {
      if (!trpc.handleUpgrade(req, socket, head)) socket.destroy();
    },
  });
  closers.unshift(() => trpc.close());

  drainParts = async () => {
    grpcHealth?.setServing(false);
    await gateway.drain({ deadlineMs: config.drainTimeoutMs });
  };

  // --- HTTP ---
  metrics.gauge("streamspace_agents_connected", "Agents holding a stream to this pod.", () =>
    connectedAgents(),
  );
  const requestDuration = metrics.histogram(
    "streamspace_api_request_duration_seconds",
    "Duration of API requests handled by this pod.",
  );
  const health: RouteHandler = async (req, res) => {
    const path = pathOf(req);
    if (path === "/health") {
      const results = Object.fromEntries(
        await Promise.all(
          Object.entries(checks).map(async ([k, f]) => [
            k,
            await f().catch((e: Error) => ({ ok: false, detail: e.message })),
          ]),
        ),
      );
      return sendJson(res, 200, {
        status: "ok",
        version: VERSION,
        pod: config.podName,
        database: results.database ?? { ok: true, detail: "not configured" },
        redis: results.redis ?? { ok: true, detail: "not used (single pod)" },
        agents: { connected: connectedAgents() },
      });
    }
    if (path === "/ready") {
      const results = await Promise.all(
        Object.entries(checks).map(
          async ([k, f]) =>
            [k, await f().catch((e: Error) => ({ ok: false, detail: e.message }))] as const,
        ),
      );
      const db = results.find(([k]) => k === "database")?.[1];
      const redis = results.find(([k]) => k === "redis")?.[1];
      const ready = !draining && (db?.ok ?? true);
      return sendJson(res, ready ? 200 : 503, {
        ready,
        draining,
        // Redis down degrades routing across pods but never readiness: local agents still work.
        // gateway helper: the hub's own view (Redis routing lost) also counts as degraded.
        degraded: (redis ? !redis.ok : false) || gw?.status().detail === "degraded",
        checks: Object.fromEntries(results),
      });
    }
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(metrics.render());
      return true;
    }
    return false;
  };
  routes.unshift(health);
  if (config.vncRelayProxy)
    upgrades.push({ prefix: "/vnc/", handle: createVncProxy(config.vncRelayProxy, log) });
  routes.push(
    createStaticHandler(config.webDist, [
      "/trpc",
      "/vnc/",
      "/.well-known/",
      "/health",
      "/ready",
      "/metrics",
    ]),
  );

  const connectHandler = connectNodeAdapter({
    interceptors: [createTraceInterceptor(), createAuthInterceptor(auth, errLog)],
    routes: (router) => {
      for (const register of connectRoutes) register(router);
    },
    readMaxBytes: 4 * 1024 * 1024,
  });
  const server: HttpServer = await startHttpServer({
    host: config.host,
    port: config.port,
    log,
    routes,
    upgrades,
    fallback: (req, res) => {
      const start = performance.now();
      res.once("finish", () =>
        requestDuration.observe((performance.now() - start) / 1000, { path: pathOf(req) }),
      );
      connectHandler(req, res);
    },
  });
  closers.unshift(() => server.close());
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
  log.info("control plane listening", { port: server.port, pod: config.podName });

  return {
    port: server.port,
    url: `http://${host}:${server.port}`,
    async drain() {
      draining = true;
      await drainParts();
    },
    async close() {
      for (const c of closers) await c().catch((err) => log.warn("close step failed", { err }));
    },
  };
}

/** Single node without JWT_SECRET: keep a generated secret beside the data so tokens survive restarts. */
function persistentJwtSecret(dataDir: string): string {
  const file = join(dataDir, "jwt-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
