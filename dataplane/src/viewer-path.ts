/**
 * The viewer path: WebSocket upgrade on `/vnc/{sessionId}?token=…` → owner check (forward to
 * the owning relay when another one owns the session) → token check (signature, audience,
 * session, single use) → a place among the session's viewers → ask the session's agent for a
 * tunnel → splice. Every wait has a deadline and every refusal a close code and a reason a
 * person can act on.
 *
 * Viewers per session are bounded where the session is served (its owner): one more than
 * `maxViewersPerSession` is closed with 4429 and the wait in the reason, before its token is
 * spent, so the same token can retry. Browsers cannot read an HTTP status on a refused upgrade,
 * which is why refusals here are close codes (4000 + the HTTP status they stand for).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { forwardUpgrade } from "@streamspace/common/forward";
import { refuseUpgrade } from "@streamspace/common/listener";
import type { Logger } from "@streamspace/common/log";
import { MAX_MESSAGE_BYTES } from "@streamspace/common/tunnel-wire";
import {
  type JtiSet,
  TokenError,
  type ViewerClaims,
  verifyViewerToken,
} from "@streamspace/common/viewer-token";
import type { JWTVerifyGetKey } from "jose";
import { type WebSocket, WebSocketServer } from "ws";
import type { AgentRegistry } from "./agent-registry.ts";
import { dialDirect, spliceDirect } from "./direct-path.ts";
import type { Membership } from "./membership.ts";
import type { RelayMetrics } from "./metrics.ts";
import type { QoeBook } from "./session-qoe.ts";
import { type Splice, spliceViewer } from "./viewer-splice.ts";

/** The wait a viewer refused for a full session is told (seconds). */
const VIEWER_RETRY_S = 5;

/** Marks a request that has already been forwarded once: it is served where it lands. */
const HOP_HEADER = "x-streamspace-relay-hop";

const VNC_PATH = /^\/vnc\/([A-Za-z0-9._:-]{1,128})(?:\?|$)/;

/** The logging the relay needs (tests pass plain objects without child()). */
export type RelayLog = Pick<Logger, "debug" | "info" | "warn" | "error">;

export interface ViewerPathDeps {
  relayId: string;
  keys: JWTVerifyGetKey;
  jtis: JtiSet;
  registry: AgentRegistry;
  /** Read per connection: the composition root swaps it once the relay joins Redis. */
  membership: () => Membership;
  metrics: RelayMetrics;
  /** Per-session QoE and last input (absent: not measured). */
  qoe?: QoeBook;
  log: RelayLog;
  tunnelSetupTimeoutMs: number;
  idleTimeoutMs: number;
  /** Viewers one session may have at once on this relay (RELAY_MAX_VIEWERS_PER_SESSION). */
  maxViewersPerSession: number;
  /** True while shutting down: new viewers get 503 so the balancer retries elsewhere. */
  draining: () => boolean;
  /** Direct mode: how long dialling an announced VNC endpoint may take before the tunnel. */
  directDialTimeoutMs?: number;
}

/** The upgrade handler plus what shutdown and the idle sweep need. */
export interface ViewerPath {
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Closes viewers idle longer than the idle timeout (4408). */
  sweepIdle(): void;
  /** Closes every live viewer, e.g. 1001 on shutdown. */
  closeAll(code: number, reason: string): void;
  close(): void;
}

function closeWith(ws: WebSocket, code: number, reason: string, metrics: RelayMetrics) {
  metrics.countClose(code);
  // Resume first: a paused socket would never read the viewer's close reply.
  ws.resume();
  if (ws.readyState === ws.OPEN) ws.close(code, reason);
}

/** Builds the viewer path of one relay. */
export function createViewerPath(deps: ViewerPathDeps): ViewerPath {
  const { keys, jtis, registry, metrics, log } = deps;
  const splices = new Set<Splice>();
  /** Viewers per session, from admission until their splice (or its setup) ends. */
  const viewersOf = new Map<string, number>();
  const leave = (sessionId: string) => {
    const left = (viewersOf.get(sessionId) ?? 1) - 1;
    if (left > 0) viewersOf.set(sessionId, left);
    else viewersOf.delete(sessionId);
  };
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has("binary") ? "binary" : false),
  });

  async function serveViewer(
    ws: WebSocket,
    sessionId: string,
    token: string,
    started: number,
    startedWall: number,
  ) {
    ws.pause();
    ws.on("error", () => {});
    let claims: ViewerClaims;
    try {
      claims = await verifyViewerToken(keys, token, sessionId);
      const viewers = viewersOf.get(sessionId) ?? 0;
      if (viewers >= deps.maxViewersPerSession) {
        return closeWith(
          ws,
          4429,
          `this session already has ${viewers} viewers (the limit); retry in ${VIEWER_RETRY_S} s`,
          metrics,
        );
      }
      jtis.consume(claims.jti, claims.exp);
    } catch (err) {
      const e =
        err instanceof TokenError
          ? err
          : new TokenError(4401, "viewer token could not be verified");
      return closeWith(ws, e.code, e.message, metrics);
    }
    viewersOf.set(sessionId, (viewersOf.get(sessionId) ?? 0) + 1);
    if (await serveDirect(ws, sessionId, claims.aid, started, startedWall)) return;
    const pending = registry.requestTunnel(sessionId, claims.aid, token, deps.tunnelSetupTimeoutMs);
    const tunnel = pending instanceof Error ? pending : await pending;
    if (tunnel instanceof Error) {
      leave(sessionId);
      const code = (tunnel as Error & { closeCode?: number }).closeCode ?? 1011;
      return closeWith(ws, code, tunnel.message, metrics);
    }
    if (ws.readyState !== ws.OPEN) {
      leave(sessionId);
      tunnel.data?.destroy();
      tunnel.stream.close();
      return;
    }
    metrics.observeSetup((performance.now() - started) / 1000);
    metrics.connectionsActive++;
    metrics.connectionsTotal++;
    if (tunnel.data) metrics.dataChannelsTotal++;
    const splice = spliceViewer(
      ws,
      tunnel,
      metrics,
      endedFor(sessionId),
      deps.qoe?.viewer(sessionId, startedWall, ws),
    );
    splices.add(splice);
  }

  /** What a splice does once when it ends: forget it and free the viewer's slot. */
  function endedFor(sessionId: string): (s: Splice) => void {
    return (s) => {
      if (splices.delete(s)) {
        metrics.connectionsActive--;
        leave(sessionId);
      }
    };
  }

  /**
   * Direct mode (direct-path.ts): dials the endpoint the session's agent announced, when there
   * is one this relay may use, and splices it. False: the caller takes the agent's tunnel.
   */
  async function serveDirect(
    ws: WebSocket,
    sessionId: string,
    agentId: string,
    started: number,
    startedWall: number,
  ): Promise<boolean> {
    const ep = registry.directEndpoint(sessionId, agentId);
    if (!ep) return false;
    const sock = await dialDirect(ep, deps.directDialTimeoutMs ?? 2_000);
    if (sock instanceof Error) {
      metrics.directFallbacksTotal++;
      log.warn("direct VNC endpoint unreachable; using the agent's tunnel", {
        sessionId,
        endpoint: `${ep.host}:${ep.port}`,
        err: sock.message,
      });
      return false;
    }
    if (ws.readyState !== ws.OPEN) {
      leave(sessionId);
      sock.socket.destroy();
      return true;
    }
    metrics.observeSetup((performance.now() - started) / 1000);
    metrics.connectionsActive++;
    metrics.connectionsTotal++;
    metrics.directTotal++;
    const splice = spliceDirect(
      ws,
      sock,
      metrics,
      endedFor(sessionId),
      deps.qoe?.viewer(sessionId, startedWall, ws),
    );
    splices.add(splice);
    return true;
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const started = performance.now();
    const startedWall = Date.now();
    const m = VNC_PATH.exec(req.url ?? "");
    if (!m) return refuseUpgrade(socket, 404, "Not Found");
    const sessionId = m[1] as string;
    if (deps.draining()) return refuseUpgrade(socket, 503, "Service Unavailable");
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
      const membership = deps.membership();
      const owner = membership.owner(sessionId);
      if (!owner || owner.id === deps.relayId) break;
      try {
        await forwardUpgrade(req, socket, head, owner.url, {
          headers: { [HOP_HEADER]: deps.relayId },
        });
        metrics.forwardedTotal++;
        return;
      } catch (err) {
        log.warn("owner relay unreachable; routing around it", { owner: owner.id, err });
        membership.suspect(owner.id);
      }
    }
    wss.handleUpgrade(
      req,
      socket,
      head,
      (ws) => void serveViewer(ws, sessionId, token, started, startedWall),
    );
  }

  return {
    onUpgrade: (req, socket, head) => void onUpgrade(req, socket, head),
    sweepIdle() {
      const cutoff = Date.now() - deps.idleTimeoutMs;
      for (const s of splices)
        if (s.lastActive < cutoff) s.close(4408, "idle timeout; reconnect to continue");
    },
    closeAll(code, reason) {
      for (const s of splices) s.close(code, reason);
    },
    close: () => wss.close(),
  };
}
