/**
 * The probe endpoints every process serves the same way (DESIGN.md §8):
 * * `/health` — liveness: the process answers. Always 200 while it can run code; the body says
 *   what it knows (version, pod, dependencies) for a person, never for the kubelet to judge.
 * * `/ready` — readiness: 200 or 503 from `ready().ready`; false while draining or before the
 *   process can do its job, so balancers stop sending work before it stops.
 * * `/metrics` — the Prometheus text of one Metrics registry.
 *
 * The handler answers only these paths and returns false for the rest, so it sits first in a
 * process's route list on its one port.
 */
import type { AnyRequest, AnyResponse, RequestHandler } from "./listener.ts";
import { pathOf, sendJson } from "./listener.ts";
import type { Metrics } from "./metrics.ts";

/** What /ready reports: `ready` decides the status, the rest explains it. */
export type Readiness = { ready: boolean } & Record<string, unknown>;

export interface HealthOptions {
  /** The /health body (`status: "ok"` is added when missing). */
  health: () => object | Promise<object>;
  /** Readiness with its detail. */
  ready: () => Readiness | Promise<Readiness>;
  /** Served on /metrics; without it /metrics is not answered here. */
  metrics?: Pick<Metrics, "text" | "contentType">;
}

/** Answers /health, /ready and /metrics; resolves false for any other path. */
export type HealthHandler = (req: AnyRequest, res: AnyResponse) => Promise<boolean>;

const PATHS = new Set(["/health", "/ready", "/metrics"]);

/** The one probe handler. */
export function createHealthHandler(opts: HealthOptions): HealthHandler {
  return async (req, res) => {
    const path = pathOf(req);
    if (!PATHS.has(path) || (path === "/metrics" && !opts.metrics)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" });
      res.end();
      return true;
    }
    try {
      if (path === "/health") return sendJson(res, 200, { status: "ok", ...(await opts.health()) });
      if (path === "/ready") {
        const r = await opts.ready();
        return sendJson(res, r.ready ? 200 : 503, r);
      }
      const text = await (opts.metrics as NonNullable<HealthOptions["metrics"]>).text();
      res.writeHead(200, { "content-type": opts.metrics?.contentType ?? "text/plain" });
      res.end(text);
      return true;
    } catch (err) {
      // A probe that cannot compute its answer is not healthy, but it must still answer.
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) return sendJson(res, path === "/ready" ? 503 : 500, { error: message });
      res.end();
      return true;
    }
  };
}

/**
 * A whole request handler for a port that serves only probes (the agent's health port):
 * the health handler, and a 404 that names the paths that exist.
 */
export function healthOnly(handler: HealthHandler): RequestHandler {
  return (req, res) => {
    void handler(req, res).then((answered) => {
      if (!answered) sendJson(res, 404, { error: "try /health, /ready or /metrics" });
    });
  };
}
