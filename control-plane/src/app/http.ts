/**
 * The HTTP part of a pod: one port (DESIGN.md §7) carrying Connect (gRPC, gRPC-Web, Connect)
 * with health and reflection, the agents' gateway stream, tRPC over HTTP and WebSocket,
 * `/health` `/ready` `/metrics`, the JWKS, `/vnc/*` to the relay in a single-process start,
 * and the web UI. Built last, so nothing is served before every part it calls exists.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createAuthInterceptor } from "../auth/connect-auth-interceptor.ts";
import type { ControlPlaneConfig } from "../config.ts";
import { registerAuthServices } from "../connect/auth-service.ts";
import { HealthState } from "../connect/health-service.ts";
import { HEALTH_SERVICE_NAMES, registerCoreServices } from "../connect/register-core-services.ts";
import { createTraceInterceptor } from "../connect/trace-interceptor.ts";
import { registerAgentGateway } from "../gateway/agent-gateway.ts";
import type { Logger } from "../log.ts";
import {
  pathOf,
  type RouteHandler,
  sendJson,
  startHttpServer,
  type UpgradeHandler,
} from "../server/http-server.ts";
import type { MetricsRegistry } from "../server/metrics.ts";
import { createStaticHandler } from "../server/static-files.ts";
import { createVncProxy } from "../server/vnc-proxy.ts";
import { createTrpcHandlers } from "../trpc/adapter.ts";
import type { AuthPart } from "./auth.ts";
import { type Check, runChecks } from "./checks.ts";
import type { GatewayPart } from "./gateway.ts";

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
  config: Pick<ControlPlaneConfig, "host" | "port" | "podName" | "vncRelayProxy" | "webDist">;
  auth: AuthPart;
  domain: GatewayPart;
  checks: { database: Check; redis?: Check };
  metrics: MetricsRegistry;
  log: Logger;
}): Promise<HttpPart> {
  const { config, auth, log, metrics } = opts;
  const { core, gateway } = opts.domain;
  const errLog = (msg: string, err: unknown) => log.error(msg, { err });
  let draining = false;

  const grpcHealth = new HealthState(HEALTH_SERVICE_NAMES);
  const connectHandler = connectNodeAdapter({
    interceptors: [createTraceInterceptor(), createAuthInterceptor(auth.auth, errLog)],
    routes: (router) => {
      registerCoreServices(router, {
        sessions: core.sessions,
        templates: core.templates,
        agents: core.agents,
        health: grpcHealth,
        log: errLog,
      });
      registerAuthServices(router, { auth: auth.auth, users: auth.users, log: errLog });
      registerAgentGateway(router, gateway);
    },
    readMaxBytes: 4 * 1024 * 1024,
  });

  // The browser's API over the same domain services: HTTP at /trpc/*, subscriptions over the
  // WebSocket at /trpc.
  const trpc = createTrpcHandlers({
    auth: auth.auth,
    sessions: core.sessions,
    templates: core.templates,
    agents: core.agents,
    log: (msg, fields) => log.error(msg, fields),
  });

  metrics.gauge("streamspace_agents_connected", "Agents holding a stream to this pod.", () =>
    gateway.connectedAgents(),
  );
  const requestDuration = metrics.histogram(
    "streamspace_api_request_duration_seconds",
    "Duration of API requests handled by this pod.",
  );
  const checks: Record<string, Check> = { database: opts.checks.database };
  if (opts.checks.redis) checks.redis = opts.checks.redis;
  const probes: RouteHandler = async (req, res) => {
    const path = pathOf(req);
    if (path === "/health") {
      const results = await runChecks(checks);
      return sendJson(res, 200, {
        status: "ok",
        version: VERSION,
        pod: config.podName,
        database: results.database ?? { ok: true, detail: "not configured" },
        redis: results.redis ?? { ok: true, detail: "not used (single pod)" },
        agents: { connected: gateway.connectedAgents() },
      });
    }
    if (path === "/ready") {
      const results = await runChecks(checks);
      const ready = !draining && (results.database?.ok ?? true);
      return sendJson(res, ready ? 200 : 503, {
        ready,
        draining,
        // Redis down degrades routing across pods but never readiness: local agents still
        // work. The hub's own view (Redis routing lost) also counts as degraded.
        degraded:
          (results.redis ? !results.redis.ok : false) || gateway.status().detail === "degraded",
        checks: results,
      });
    }
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(metrics.render());
      return true;
    }
    return false;
  };

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
    upgrades.push({ prefix: "/vnc/", handle: createVncProxy(config.vncRelayProxy, log) });

  const server = await startHttpServer({
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
