/**
 * One port for everything a process serves (DESIGN.md §7): browsers speak HTTP/1.1 (pages,
 * tRPC, WebSockets), gRPC clients and agents speak h2c with prior knowledge. Without TLS there
 * is no ALPN, so the first bytes of each connection decide: the HTTP/2 connection preface goes
 * to the h2 server, anything else to the HTTP/1.1 server. A `claim` hook sees those bytes
 * first, for protocols of our own (the relay's raw data channels).
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import http2, {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import net, { type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type Logger, silentLogger } from "./log.ts";

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;
/** Answers one request on either protocol. */
export type RequestHandler = (req: AnyRequest, res: AnyResponse) => void;
/** Takes over an HTTP/1.1 upgrade (WebSocket); `socket` is the raw connection. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
/** Takes a raw HTTP/2 stream (hand-framed gRPC) instead of the request/response API. */
export type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;

export interface ListenerOptions {
  host: string;
  /** 0 picks a free port (tests); the bound one is `Listener.port`. */
  port: number;
  log?: Logger;
  /** Requests on both protocols (HTTP/2 too, unless `onStream` takes its streams). */
  onRequest: RequestHandler;
  /** HTTP/1.1 upgrades; without it they are answered 404. */
  onUpgrade?: UpgradeHandler;
  /** When set, HTTP/2 streams go here raw and never reach `onRequest`. */
  onStream?: StreamHandler;
  /**
   * Sees each connection's first bytes (the socket is paused, nothing unshifted) and returns
   * true when it took the connection; false lets HTTP sniffing proceed.
   */
  claim?: (socket: Socket, first: Buffer) => boolean;
  /** Per new HTTP/2 session (window sizes). */
  onSession?: (session: Http2Session) => void;
  /** HTTP/1.1 server options; keepAliveTimeout defaults to 65 s (longer than balancers'). */
  http1?: http.ServerOptions;
  /** HTTP/2 server options (settings, maxSessionMemory). */
  http2?: http2.ServerOptions;
  /**
   * HTTP/2 PING interval: a peer that does not answer within it is cut, so half-open streams
   * do not pin memory. 0 turns pings off (peers that ping us themselves). Default 20 s.
   */
  keepaliveMs?: number;
  /** Nagle off on accepted sockets (latency-sensitive byte streams). Default false. */
  noDelay?: boolean;
  /** Accepted connections at once; past it the kernel backlog holds them. Default 65,000. */
  maxConnections?: number;
}

/** A listening port; close() drains, then destroys what is left. */
export interface Listener {
  readonly port: number;
  /** `http://127.0.0.1:<port>`, for tests and same-host clients. */
  readonly url: string;
  /** Stops accepting, lets streams finish for up to `graceMs` (default 5 s), destroys the rest. */
  close(graceMs?: number): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** True when `first` starts (or is the start of) the HTTP/2 connection preface. */
export function isHttp2Preface(first: Buffer): boolean {
  const n = Math.min(first.length, H2_PREFACE.length);
  return n > 0 && first.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
}

/** Listens on one port for HTTP/1.1 and h2c; resolves once it listens. */
export async function listen(opts: ListenerOptions): Promise<Listener> {
  const log = opts.log ?? silentLogger;
  const h1 = http.createServer({ keepAliveTimeout: 65_000, ...opts.http1 }, opts.onRequest);
  const h2 = http2.createServer({ maxSessionMemory: 64, ...opts.http2 });
  if (opts.onStream) h2.on("stream", opts.onStream);
  else h2.on("request", opts.onRequest);
  const onUpgrade = opts.onUpgrade;
  h1.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {});
    if (onUpgrade) onUpgrade(req, socket, head);
    else socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
  });

  const sessions = new Set<Http2Session>();
  const sockets = new Set<Socket>();
  const keepaliveMs = opts.keepaliveMs ?? 20_000;
  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {});
    opts.onSession?.(session);
    if (keepaliveMs <= 0) return;
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

  const front = net.createServer({ noDelay: opts.noDelay ?? false }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", (first: Buffer) => {
      socket.pause();
      if (opts.claim?.(socket, first)) return;
      socket.unshift(first);
      // http2 drains what we unshifted from the JS buffer and then reads the native handle
      // itself; resuming the JS stream would race it for bytes, so only HTTP/1.1 resumes.
      if (isHttp2Preface(first)) h2.emit("connection", socket);
      else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });
  front.maxConnections = opts.maxConnections ?? 65_000;
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(opts.port, opts.host, () => {
      front.off("error", reject);
      resolve();
    });
  });
  front.on("error", (err) => log.error("listener failed", { err }));
  const addr = front.address();
  const port = typeof addr === "object" && addr ? addr.port : opts.port;

  let closing: Promise<void> | undefined;
  const close = (graceMs = 5_000) => {
    closing ??= (async () => {
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
    })();
    return closing;
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}

/** The request path without the query string. */
export function pathOf(req: AnyRequest): string {
  const u = req.url ?? "/";
  const q = u.indexOf("?");
  return q === -1 ? u : u.slice(0, q);
}

/** Writes a JSON body (bigints as strings, never cached); returns true so routes stay short. */
export function sendJson(res: AnyResponse, status: number, body: unknown): true {
  const text = JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(text);
  return true;
}

/** Answers a raw upgrade socket with an HTTP status and closes it. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}
