/**
 * One port for everything (DESIGN.md §7): browsers speak HTTP/1.1 (UI, tRPC, WebSockets),
 * gRPC clients and agents speak h2c with prior knowledge. Without TLS there is no ALPN, so we
 * read the first bytes of each connection: the HTTP/2 preface goes to the h2 server, anything
 * else to the HTTP/1.1 server. Both hand requests to the same handler.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from "node:http2";
import net, { type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { startServerSpan } from "@streamspace/common/tracing";
import type { Logger } from "../log.ts";

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;
/** Returns true when it answered the request. */
export type RouteHandler = (req: AnyRequest, res: AnyResponse) => boolean | Promise<boolean>;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

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
  /** HTTP/2 PING interval; a peer that does not answer within it is cut (half-open streams). */
  keepaliveMs?: number;
}

export interface HttpServer {
  port: number;
  /** Stops accepting, lets streams finish for up to `graceMs`, then destroys what is left. */
  close(graceMs?: number): Promise<void>;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

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

/** Starts the combined HTTP/1.1 + h2c server and resolves once it listens. */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const { log } = opts;
  const handle = async (req: AnyRequest, res: AnyResponse) => {
    const name = requestSpanName(req.url ?? "/");
    if (!name) return answer(req, res);
    // One server span per API request; the domain reads it to stamp the commands it writes.
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
  const answer = async (req: AnyRequest, res: AnyResponse) => {
    try {
      for (const route of opts.routes) if (await route(req, res)) return;
      opts.fallback(req, res);
    } catch (err) {
      log.error("request handler failed", { path: req.url, err });
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
      }
      res.end(JSON.stringify({ error: "internal error; it has been logged" }));
    }
  };
  const h1 = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => void handle(req, res));
  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: 1000 }, maxSessionMemory: 64 },
    (req, res) => void handle(req, res),
  );
  h1.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const u = opts.upgrades.find((x) => req.url?.startsWith(x.prefix));
    if (!u) {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    u.handle(req, socket, head);
  });

  const sessions = new Set<Http2Session>();
  const sockets = new Set<Socket>();
  const keepaliveMs = opts.keepaliveMs ?? 20_000;
  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {});
    const timer = setInterval(() => {
      if (session.closed || session.destroyed) return;
      const sent = session.ping((err) => {
        if (err && !session.destroyed) {
          log.warn("http2 peer missed keepalive ping; closing its connection", {
            err: err.message,
          });
          session.destroy();
        }
      });
      if (!sent) session.destroy();
    }, keepaliveMs);
    timer.unref();
    session.on("close", () => clearInterval(timer));
  });

  const front = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      const isH2 =
        chunk.length >= H2_PREFACE.length
          ? chunk.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)
          : H2_PREFACE.subarray(0, chunk.length).equals(chunk);
      // http2 drains what we unshifted from the JS buffer and then reads the native handle
      // itself; resuming the JS stream would race it for bytes, so only HTTP/1.1 resumes.
      if (isH2) h2.emit("connection", socket);
      else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });
  front.maxConnections = 65_000;
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(opts.port, opts.host, () => resolve());
  });
  const addr = front.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;

  return {
    port,
    async close(graceMs = 5_000) {
      front.close();
      for (const s of sessions) s.close();
      h1.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while ((sessions.size > 0 || sockets.size > 0) && Date.now() < deadline) {
        h1.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 25));
      }
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
    },
  };
}

/** Writes a JSON body; small helper so plain routes stay one-liners. */
export function sendJson(res: AnyResponse, status: number, body: unknown): true {
  const text = JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(text);
  return true;
}

/** The request path without the query string. */
export function pathOf(req: AnyRequest): string {
  const u = req.url ?? "/";
  const q = u.indexOf("?");
  return q === -1 ? u : u.slice(0, q);
}
