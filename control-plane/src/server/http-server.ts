/**
 * The pod's request dispatch on the kit's one-port listener (HTTP/1.1 and h2c, DESIGN.md §7):
 * an ordered list of routes (probes, JWKS, tRPC, the web UI), then Connect for the rest; and
 * WebSocket upgrades by path prefix. API requests get one server span each, which the domain
 * reads to stamp the commands it writes.
 */
import {
  type AnyRequest,
  type AnyResponse,
  type Listener,
  listen,
  refuseUpgrade,
  type UpgradeHandler,
} from "@streamspace/common/listener";
import type { Logger } from "@streamspace/common/log";
import { startServerSpan } from "@streamspace/common/tracing";

/** Returns true when it answered the request. */
export type RouteHandler = (req: AnyRequest, res: AnyResponse) => boolean | Promise<boolean>;

export interface HttpServerOptions {
  host: string;
  port: number;
  log: Logger;
  /** Tried in order before `fallback`; the first that returns true wins. */
  routes: RouteHandler[];
  /** Usually the Connect adapter; it answers 404 for unknown paths itself. */
  fallback: (req: AnyRequest, res: AnyResponse) => void;
  /** WebSocket upgrades by path prefix ("/trpc", "/vnc/"). */
  upgrades: Array<{ prefix: string; handle: UpgradeHandler }>;
}

/**
 * The span name of an API request, or undefined for what is not traced: probes, metrics,
 * static files, and the agents' hours-long gateway streams (their commands carry their own
 * trace context).
 */
export function requestSpanName(url: string): string | undefined {
  const path = url.split("?")[0] ?? "";
  if (path.startsWith("/trpc/")) return `trpc ${path.slice("/trpc/".length)}`;
  if (path.startsWith("/streamspace.agent.")) return undefined;
  if (/^\/[a-z][\w.]*\.[A-Z]\w*\/[A-Z]\w*$/.test(path)) return path.slice(1);
  return undefined;
}

/** Starts listening; resolves once the port is bound. */
export function startHttpServer(opts: HttpServerOptions): Promise<Listener> {
  const { log } = opts;
  const answer = async (req: AnyRequest, res: AnyResponse) => {
    try {
      for (const route of opts.routes) if (await route(req, res)) return;
      opts.fallback(req, res);
    } catch (err) {
      log.error("request handler failed", { path: req.url, err });
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "internal error; it has been logged" }));
    }
  };
  const handle = async (req: AnyRequest, res: AnyResponse) => {
    const name = requestSpanName(req.url ?? "/");
    if (!name) return answer(req, res);
    const span = startServerSpan(name, req.headers, {
      "http.request.method": req.method ?? "",
      "url.path": (req.url ?? "/").split("?")[0] ?? "/",
    });
    res.once("close", () => {
      span.span.setAttribute("http.response.status_code", res.statusCode);
      span.end(res.statusCode >= 500 ? `HTTP ${res.statusCode}` : undefined);
    });
    await span.run(() => answer(req, res));
  };
  return listen({
    host: opts.host,
    port: opts.port,
    log,
    onRequest: (req, res) => void handle(req, res),
    onUpgrade: (req, socket, head) => {
      const u = opts.upgrades.find((x) => req.url?.startsWith(x.prefix));
      if (u) u.handle(req, socket, head);
      else refuseUpgrade(socket, 404, "Not Found");
    },
    // One agent or browser may run many calls at once on its connection.
    http2: { settings: { maxConcurrentStreams: 1000 }, maxSessionMemory: 64 },
  });
}
