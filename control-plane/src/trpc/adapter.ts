/**
 * Glue between the control plane's one HTTP server and the tRPC router: an HTTP handler for
 * `/trpc/*` (queries and mutations; HTTP/1.1 and h2c alike) and a `noServer` WebSocketServer
 * for upgrades on `/trpc` (subscriptions). The server owns the port; this module owns nothing
 * but the protocol, so it mounts beside Connect, /vnc and the web UI on the one port.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Duplex } from "node:stream";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import { applyWSSHandler } from "@trpc/server/adapters/ws";
import { WebSocketServer } from "ws";
import { peerOf } from "../edge/peer.ts";
import { RateLimitedError, retryAfterSeconds } from "../edge/rate-limiter.ts";
import type { TrpcDeps } from "./deps.ts";
import { createContextFromAuthorization, toTrpcError } from "./init.ts";
import { appRouter } from "./router.ts";

/** URL prefix for HTTP calls; a request to `/trpc/sessions.list` runs `sessions.list`. */
export const TRPC_PREFIX = "/trpc";
/** Requests and WebSocket frames above this are refused (bounded everything). */
export const TRPC_MAX_BODY_BYTES = 1 << 20;

export interface TrpcHandlers {
  /** Serves `/trpc/*`; returns false (and writes nothing) for any other path. */
  handleHttp(
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
  ): boolean;
  /** The subscription endpoint; the server routes `upgrade` events for `/trpc` here. */
  wss: WebSocketServer;
  /** Convenience for the server's `upgrade` listener: true when the path was ours. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Asks clients to reconnect elsewhere, then closes every socket (graceful pod shutdown). */
  close(): Promise<void>;
}

function authorizationFrom(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}

function isOurs(url: string | undefined): boolean {
  const path = (url ?? "").split("?")[0] ?? "";
  return path === TRPC_PREFIX || path.startsWith(`${TRPC_PREFIX}/`);
}

/** Builds the tRPC HTTP and WebSocket endpoints over the given domain ports. */
export function createTrpcHandlers(deps: TrpcDeps): TrpcHandlers {
  const onError = ({ error, path }: { error: unknown; path?: string }) => {
    const e = toTrpcError(error, undefined);
    // A WebSocket frame over the bound is the client's doing (ws closes it with 1009), not ours.
    const oversized = String((e.cause as Error)?.message).includes("Max payload size exceeded");
    if (e.code === "INTERNAL_SERVER_ERROR" && !oversized) {
      deps.log?.("trpc: internal error", { path, err: String((e.cause as Error) ?? e) });
    }
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: TRPC_MAX_BODY_BYTES });
  const wsHandler = applyWSSHandler({
    wss,
    router: appRouter,
    onError,
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 10_000 },
    createContext: ({ req, info }) =>
      createContextFromAuthorization(
        deps,
        // Browsers cannot set headers on a WebSocket, so the token rides in connectionParams.
        info.connectionParams?.authorization ?? authorizationFrom(req.headers.authorization),
        peerOf(req),
      ),
  });

  return {
    wss,
    handleHttp(req, res) {
      if (!isOurs(req.url)) return false;
      const path = (req.url ?? "").split("?")[0]!.slice(TRPC_PREFIX.length + 1);
      void nodeHTTPRequestHandler({
        req,
        res,
        path,
        router: appRouter,
        maxBodySize: TRPC_MAX_BODY_BYTES,
        onError,
        // A refusal for too many requests tells HTTP clients how long to wait.
        responseMeta: ({ errors }) => {
          const limited = errors.find((e) => e.cause instanceof RateLimitedError);
          return limited?.cause instanceof RateLimitedError
            ? { headers: { "retry-after": retryAfterSeconds(limited.cause.retryAfterMs) } }
            : {};
        },
        createContext: ({ req: r }) =>
          createContextFromAuthorization(
            deps,
            authorizationFrom(r.headers.authorization),
            peerOf(r),
          ),
      }).catch((err: unknown) => {
        deps.log?.("trpc: handler failed", { err: String(err) });
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end();
        }
      });
      return true;
    },
    handleUpgrade(req, socket, head) {
      if (!isOurs(req.url)) return false;
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
      return true;
    },
    async close() {
      wsHandler.broadcastReconnectNotification();
      for (const client of wss.clients) client.close(1001, "server shutting down");
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const client of wss.clients) client.terminate();
    },
  };
}
