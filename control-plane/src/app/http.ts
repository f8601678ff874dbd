/**
 * The HTTP part of a pod: one port (DESIGN.md §7) carrying Connect (gRPC, gRPC-Web, Connect)
 * with health and reflection, the agents' gateway stream, tRPC over HTTP and WebSocket,
 * `/health` `/ready` `/metrics`, the JWKS, `/vnc/*` to the relay in a single-process start,
 * and the web UI. Built last, so nothing is served before every part it calls exists.
 */
import { createUpgradeForwarder } from "@streamspace/common/forward";
import { createHealthHandler } from "@streamspace/common/health";
import { pathOf, type UpgradeHandler } from "@streamspace/common/listener";
import type { Logger } from "@streamspace/common/log";
import type { Metrics } from "@streamspace/common/metrics";
import type { ControlPlaneConfig } from "../config.ts";
import { createAuditInterceptor } from "../connect/audit-interceptor.ts";
import { createAuthInterceptor } from "../connect/auth-interceptor.ts";
import { registerAuthServices } from "../connect/auth-service.ts";
import { createConnectNodeHandler } from "../connect/connect-node-handler.ts";
import { HealthState } from "../connect/health-service.ts";
import { createRateLimitInterceptor } from "../connect/rate-limit-interceptor.ts";
import { HEALTH_SERVICE_NAMES, registerCoreServices } from "../connect/register-core-services.ts";
import { createTraceInterceptor } from "../connect/trace-interceptor.ts";
import { RateLimiter } from "../edge/rate-limiter.ts";
import { registerAgentGateway } from "../gateway/agent-gateway.ts";
import { type RouteHandler, startHttpServer } from "../server/http-server.ts";
import { createStaticHandler } from "../server/static-files.ts";
import { createTrpcHandlers } from "../trpc/adapter.ts";
import type { AuthPart } from "./auth.ts";
import { type Check, runChecks } from "./checks.ts";
import type { GatewayPart } from "./gateway.ts";
import { registerPodGauges } from "./metrics.ts";

/** Reported by /health. */
export const VERSION = "0.1.0";

/** The listening port and the two steps of a graceful stop. */
export interface HttpPart {
  port: number;
  url: string;
  /** Not ready from now on: /ready answers 503 and gRPC health NOT_SERVING. */
  stopServing(): void;
  close(): Promise<void>;
}

/** Mounts every transport on one listener and starts it. */
export async function startHttpPart(opts: {
  config: Pick<
    ControlPlaneConfig,
    "host" | "port" | "podName" | "vncRelayProxy" | "webDist" | "rateLimits"
  >;
  auth: AuthPart;
  domain: GatewayPart;
  checks: { database: Check; redis?: Check };
  countSessions: Parameters<typeof registerPodGauges>[0]["countSessions"];
  metrics: Metrics;
  log: Logger;
}): Promise<HttpPart> {
  const { config, auth, log, metrics } = opts;
  const { core, gateway } = opts.domain;
  const errLog = (msg: string, err: unknown) => log.error(msg, { err });
  let draining = false;

  const grpcHealth = new HealthState(HEALTH_SERVICE_NAMES);
  // One budget per caller for both roads, so switching transport does not double it.
  const limiter = new RateLimiter(config.rateLimits);
  const connectHandler = createConnectNodeHandler({
    interceptors: [
      createTraceInterceptor(),
      createAuditInterceptor(core.audit),
      createAuthInterceptor(auth.auth, errLog),
      createRateLimitInterceptor(limiter),
    ],
    routes: (router) => {
      registerCoreServices(router, {
        sessions: core.sessions,
        templates: core.templates,
        agents: core.agents,
        audit: core.audit,
        health: grpcHealth,
        log: errLog,
      });
      registerAuthServices(router, { auth: auth.auth, users: auth.users, log: errLog });
      registerAgentGateway(router, gateway);
    },
    readMaxBytes: 4 * 1024 * 1024,
    onError: errLog,
  });

  // The browser's API over the same domain services: HTTP at /trpc/*, subscriptions over the
  // WebSocket at /trpc.
  const trpc = createTrpcHandlers({
    auth: auth.auth,
    users: auth.users,
    sessions: core.sessions,
    templates: core.templates,
    agents: core.agents,
    audit: core.audit,
    qoe: opts.domain.activity,
    limiter,
    log: (msg, fields) => log.error(msg, fields),
  });

  registerPodGauges({ metrics, gateway, countSessions: opts.countSessions, log });
  const requestDuration = metrics.histogram(
    "streamspace_api_request_duration_seconds",
    "Duration of API requests handled by this pod.",
    { labels: ["path"] },
  );
  const checks: Record<string, Check> = { database: opts.checks.database };
  if (opts.checks.redis) checks.redis = opts.checks.redis;
  const probes = createHealthHandler({
    metrics,
    health: async () => {
      const results = await runChecks(checks);
      return {
        status: "ok",
        version: VERSION,
        pod: config.podName,
        database: results.database ?? { ok: true, detail: "not configured" },
        redis: results.redis ?? { ok: true, detail: "not used (single pod)" },
        agents: { connected: gateway.connectedAgents() },
      };
    },
    ready: async () => {
      const results = await runChecks(checks);
      return {
        ready: !draining && (results.database?.ok ?? true),
        draining,
        // Redis down degrades routing across pods but never readiness: local agents still
        // work. The hub's own view (Redis routing lost) also counts as degraded.
        degraded:
          (results.redis ? !results.redis.ok : false) || gateway.status().detail === "degraded",
        checks: results,
      };
    },
  });

  // Order matters: probes first, the UI's catch-all last, Connect for whatever is left.
  const routes: RouteHandler[] = [
    probes,
    auth.jwks,
    (req, res) => trpc.handleHttp(req, res),
    createStaticHandler(config.webDist, [
      "/trpc",
      "/vnc/",
      "/.well-known/",
      "/health",
      "/ready",
      "/metrics",
    ]),
  ];
  const upgrades: Array<{ prefix: string; handle: UpgradeHandler }> = [
    {
      prefix: "/trpc",
      handle: (req, socket, head) => {
        if (!trpc.handleUpgrade(req, socket, head)) socket.destroy();
      },
    },
  ];
  if (config.vncRelayProxy)
    upgrades.push({
      prefix: "/vnc/",
      // A relay that does not accept within the kit's connect deadline is answered 502.
      handle: createUpgradeForwarder(config.vncRelayProxy, { log }),
    });

  const server = await startHttpServer({
    host: config.host,
    port: config.port,
    log,
    routes,
    upgrades,
    fallback: (req, res) => {
      const start = performance.now();
      res.once("finish", () => {
        // Connect answers 404 for what it does not serve; those paths are whatever a caller
        // typed, so they share one label and the series stay bounded.
        const path = res.statusCode === 404 ? "(unknown)" : pathOf(req);
        requestDuration.observe({ path }, (performance.now() - start) / 1000);
      });
      connectHandler(req, res);
    },
  }).catch(async (err: unknown) => {
    await trpc.close().catch(() => {});
    throw err;
  });
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
  log.info("control plane listening", { port: server.port, pod: config.podName });

  return {
    port: server.port,
    url: `http://${host}:${server.port}`,
    stopServing() {
      draining = true;
      grpcHealth.setServing(false);
    },
    async close() {
      await server.close();
      await trpc.close();
    },
  };
}
