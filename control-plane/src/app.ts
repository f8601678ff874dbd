/**
 * Composition root of a control-plane pod: the only file that knows every part. Parts are
 * built in dependency order (storage → auth → domain → gateway → transports → HTTP) and torn
 * down in reverse, so a stop never leaves a stream writing to a closed database.
 */
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ControlPlaneConfig } from "./config.ts";
import type { Logger } from "./log.ts";
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
  const connectedAgents = () => 0;
  let draining = false;
  const drainParts = async () => {};

  // --- wiring: storage, auth, domain, gateway, tRPC (see the sections below) ---

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
        degraded: redis ? !redis.ok : false,
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
