/**
 * One relay process on one port: HTTP/1.1 for browsers (WebSocket /vnc/{sessionId}, /health,
 * /ready, /metrics) and cleartext HTTP/2 for agents, told apart by the HTTP/2 connection
 * preface. Viewer path: upgrade → owner check (forward if another relay owns the session) →
 * token check (signature, audience, session, single use) → ask the session's agent for a
 * tunnel → splice. Every wait has a deadline and every refusal a close code and a reason.
 */
import { timingSafeEqual } from "node:crypto";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createH2Server } from "node:http2";
import { createServer as createNetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { MAX_MESSAGE_BYTES } from "@streamspace/common/tunnel-wire";
import {
  createKeySource,
  JtiSet,
  TokenError,
  verifyViewerToken,
} from "@streamspace/common/viewer-token";
import { type WebSocket, WebSocketServer } from "ws";
import { AgentRegistry } from "./agent-registry.ts";
import { handleAgentStream } from "./agent-service.ts";
import type { RelayConfig } from "./config.ts";
import { acceptDataChannel, isDataChannel } from "./data-channel.ts";
import { forwardUpgrade, HOP_HEADER } from "./forward.ts";
import { createRelayLogger, type RelayLogger } from "./log.ts";
import { type Membership, redisMembership, staticMembership } from "./membership.ts";
import { RelayMetrics } from "./metrics.ts";
import { type Splice, spliceViewer } from "./viewer-splice.ts";

/** A running relay; close() drains viewers and leaves the ring. */
export interface RelayServer {
  port: number;
  url: string;
  metrics: RelayMetrics;
  registry: AgentRegistry;
  membership: Membership;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const VNC_PATH = /^\/vnc\/([A-Za-z0-9._:-]{1,128})(?:\?|$)/;

function closeWith(ws: WebSocket, code: number, reason: string, metrics: RelayMetrics) {
  metrics.countClose(code);
  // Resume first: a paused socket would never read the viewer's close reply.
  ws.resume();
  if (ws.readyState === ws.OPEN) ws.close(code, reason);
}

/** Starts a relay from config; `port` 0 picks a free port (tests). */
export async function startRelayServer(
  config: RelayConfig,
  opts: {
    log?: RelayLogger;
    membership?: Membership;
    /**
     * Raw TCP data channels for agents: "on" (default), "off" (offer none, as relays before
     * them did), "refuse" (offer but refuse to attach; tests the agent's fallback).
     */
    dataChannel?: "on" | "off" | "refuse";
  } = {},
): Promise<RelayServer> {
  const log = opts.log ?? createRelayLogger(config.logLevel, { relay: config.relayId });
  const metrics = new RelayMetrics(config.relayId);
  const keys = createKeySource({ jwks: config.viewerJwks, jwksUrl: config.viewerJwksUrl });
  const jtis = new JtiSet();
  const dataChannel = opts.dataChannel ?? config.dataChannel ?? "on";
  const registry = new AgentRegistry(
    config.relayId,
    () => {
      metrics.agentsAttached = registry.agents;
      metrics.sessionsAttached = registry.sessions;
    },
    dataChannel !== "off",
  );
  const self = { id: config.relayId, url: config.publicUrl };
  // Register in the ring only once we listen: agents dial a member as soon as it appears, and
  // a refused first dial would make them route around this relay for SUSPECT_MS.
  let membership: Membership =
    opts.membership ?? staticMembership(self, config.redisUrl ? [] : (config.staticMembers ?? []));
  let joined = !config.redisUrl || opts.membership !== undefined;
  const splices = new Set<Splice>();
  let draining = false;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has("binary") ? "binary" : false),
  });

  async function serveViewer(ws: WebSocket, sessionId: string, token: string, started: number) {
    ws.pause();
    ws.on("error", () => {});
    let claims: Awaited<ReturnType<typeof verifyViewerToken>>;
    try {
      claims = await verifyViewerToken(keys, token, sessionId);
      jtis.consume(claims.jti, claims.exp);
    } catch (err) {
      const e =
        err instanceof TokenError
          ? err
          : new TokenError(4401, "viewer token could not be verified");
      return closeWith(ws, e.code, e.message, metrics);
    }
    const pending = registry.requestTunnel(
      sessionId,
      claims.aid,
      token,
      config.tunnelSetupTimeoutMs,
    );
    const tunnel = pending instanceof Error ? pending : await pending;
    if (tunnel instanceof Error) {
      const code = (tunnel as Error & { closeCode?: number }).closeCode ?? 1011;
      return closeWith(ws, code, tunnel.message, metrics);
    }
    if (ws.readyState !== ws.OPEN) {
      tunnel.data?.destroy();
      tunnel.stream.close();
      return;
    }
    metrics.observeSetup((performance.now() - started) / 1000);
    metrics.connectionsActive++;
    metrics.connectionsTotal++;
    if (tunnel.data) metrics.dataChannelsTotal++;
    const splice = spliceViewer(ws, tunnel, metrics, (s) => {
      if (splices.delete(s)) metrics.connectionsActive--;
    });
    splices.add(splice);
  }

  function refuseUpgrade(socket: Duplex, status: number, text: string) {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const started = performance.now();
    socket.on("error", () => {});
    const m = VNC_PATH.exec(req.url ?? "");
    if (!m) return refuseUpgrade(socket, 404, "Not Found");
    const sessionId = m[1]!;
    if (draining) return refuseUpgrade(socket, 503, "Service Unavailable");
    const forwarded = req.headers[HOP_HEADER] !== undefined;
    const token = new URL(req.url ?? "/", "http://relay").searchParams.get("token") ?? "";
    // Only a token that verifies may cost the owner a connection. A bad one is not forwarded:
    // it is answered here, where serveViewer closes with the precise 4401 reason. (Single use
    // is the owner's to enforce, so the token is checked, not consumed.)
    const worthForwarding =
      !forwarded &&
      (await verifyViewerToken(keys, token, sessionId).then(
        () => true,
        () => false,
      ));
    for (let attempt = 0; worthForwarding && attempt < 3; attempt++) {
      const owner = membership.owner(sessionId);
      if (!owner || owner.id === config.relayId) break;
      try {
        await forwardUpgrade(req, socket, head, owner.url, config.relayId);
        metrics.forwardedTotal++;
        return;
      } catch (err) {
        log.warn("owner relay unreachable; routing around it", { owner: owner.id, err });
        membership.suspect(owner.id);
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => void serveViewer(ws, sessionId, token, started));
  }

  function onRequest(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: "ok",
          relay: config.relayId,
          viewers: metrics.connectionsActive,
          agents: registry.agents,
        }),
      );
    } else if (path === "/ready") {
      const ok = !draining && joined && membership.ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          ready: ok,
          draining,
          inRing: membership.ready(),
          epoch: membership.ring().epoch.toString(),
        }),
      );
    } else if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(metrics.render());
    } else if (path === "/debug/sessions" && config.debugToken) {
      if (!bearerMatches(req.headers.authorization, config.debugToken)) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "send 'authorization: Bearer <RELAY_DEBUG_TOKEN>'" }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ relay: config.relayId, sessions: registry.sessionIds().sort() }));
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "not found" }));
    }
  }

  const http1 = createHttpServer({ keepAliveTimeout: 5_000 }, onRequest);
  http1.on("upgrade", (req, socket, head) => void onUpgrade(req, socket, head));
  const h2 = createH2Server({
    maxSessionMemory: 64,
    // Large frames and windows: VNC updates are bulky, and fewer frames means fewer JS callbacks.
    settings: { initialWindowSize: 2 * 1024 * 1024, maxFrameSize: 1024 * 1024 },
  });
  h2.on("stream", (stream, headers) => {
    void handleAgentStream(stream, headers, { keys, registry, log, onMetricsChange: () => {} });
  });
  h2.on("session", (session) => {
    session.setLocalWindowSize?.(8 * 1024 * 1024);
    session.on("error", () => {});
  });
  const sockets = new Set<Socket>();
  const server = createNetServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", (first: Buffer) => {
      socket.pause();
      if (isDataChannel(first)) {
        if (dataChannel === "on") acceptDataChannel(socket, first, registry);
        else socket.destroy();
        return;
      }
      socket.unshift(first);
      const isH2 = first.length >= 3 && first[0] === 0x50 && first[1] === 0x52 && first[2] === 0x49; // "PRI"
      // HTTP/2 takes the socket's native handle (and drains the unshifted bytes itself);
      // resuming would feed the preface twice. HTTP/1 reads through the stream, so resume it.
      if (isH2) h2.emit("connection", socket);
      else {
        http1.emit("connection", socket);
        socket.resume();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.port;
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
      server.close();
      for (const s of sockets) s.destroy();
      throw new Error("join the relay ring in Redis", { cause: err });
    }
  }

  const idleTimer = setInterval(
    () => {
      const cutoff = Date.now() - config.idleTimeoutMs;
      for (const s of splices)
        if (s.lastActive < cutoff) s.close(4408, "idle timeout; reconnect to continue");
    },
    Math.min(1000, Math.max(50, Math.floor(config.idleTimeoutMs / 4))),
  );
  const sweepTimer = setInterval(() => jtis.sweep(), 5_000);
  idleTimer.unref();
  sweepTimer.unref();
  log.info("relay listening", { port, id: config.relayId, publicUrl: config.publicUrl });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      clearInterval(idleTimer);
      clearInterval(sweepTimer);
      await membership.close();
      registry.close();
      for (const s of splices) s.close(1001, "relay is shutting down; reconnect");
      server.close();
      for (const s of sockets) s.destroy();
      wss.close();
    })();
    return closing;
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    metrics,
    registry,
    membership,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Constant-time comparison of an `authorization: Bearer …` header with the expected token. */
function bearerMatches(header: string | undefined, expected: string): boolean {
  const got = Buffer.from(/^Bearer (.+)$/i.exec(header ?? "")?.[1] ?? "");
  const want = Buffer.from(expected);
  return got.length === want.length && timingSafeEqual(got, want);
}
