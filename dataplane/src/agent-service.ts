/**
 * The relay side of RelayService over a raw node:http2 server: gRPC framing by hand (see
 * tunnel-wire.ts for why), Bearer relay-token auth on every stream, Attach streams feeding the
 * registry and Tunnel streams matched to waiting viewers. Errors end the stream with a gRPC
 * status and a message a person can act on.
 */

import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import {
  decodeMessage,
  FrameReader,
  RELAY_SERVICE_PATH,
  TunnelReader,
} from "@streamspace/common/tunnel-wire";
import { verifyRelayToken } from "@streamspace/common/viewer-token";
import {
  AttachRequestSchema,
  TunnelRequestSchema,
} from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import type { JWTVerifyGetKey } from "jose";
import type { AgentRegistry } from "./agent-registry.ts";
import type { RelayLog } from "./viewer-path.ts";
import type { AgentTunnel } from "./viewer-splice.ts";

/** gRPC status codes used here. */
const Status = {
  UNAUTHENTICATED: 16,
  UNIMPLEMENTED: 12,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  UNAVAILABLE: 14,
};

/** Bytes an unmatched tunnel may queue before its stream is paused. */
const QUEUE_LIMIT = 256 * 1024;

const verified = new WeakMap<Http2Session, { header: string; agentId: string; exp: number }>();
const statusOf = new WeakMap<ServerHttp2Stream, Record<string, string>>();

/** Ends a stream with a gRPC status (trailers-only when no headers were sent). */
export function endWithStatus(stream: ServerHttp2Stream, status: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  const trailers = { "grpc-status": String(status), "grpc-message": encodeURIComponent(message) };
  if (!stream.headersSent) {
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", ...trailers },
      { endStream: true },
    );
    return;
  }
  statusOf.set(stream, trailers);
  if (!stream.writableEnded) stream.end();
}

/** Dependencies of the agent-facing handler. */
export interface AgentServiceDeps {
  keys: JWTVerifyGetKey;
  registry: AgentRegistry;
  log: RelayLog;
  onMetricsChange(): void;
}

/** Handles one HTTP/2 stream from an agent. */
export async function handleAgentStream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  deps: AgentServiceDeps,
): Promise<void> {
  stream.on("error", () => {});
  const path = headers[":path"] ?? "";
  const method = path.startsWith(RELAY_SERVICE_PATH) ? path.slice(RELAY_SERVICE_PATH.length) : "";
  if ((method !== "Attach" && method !== "Tunnel") || headers[":method"] !== "POST") {
    return endWithStatus(stream, Status.UNIMPLEMENTED, `unknown method ${path}`);
  }
  if (!String(headers["content-type"] ?? "").startsWith("application/grpc")) {
    return endWithStatus(stream, Status.INVALID_ARGUMENT, "content-type must be application/grpc");
  }
  let agentId: string;
  try {
    // One verification per connection and token: tunnels reuse the Attach stream's result.
    const cached = verified.get(stream.session!);
    if (cached && cached.header === headers.authorization && cached.exp > Date.now())
      agentId = cached.agentId;
    else {
      agentId = await verifyRelayToken(deps.keys, headers.authorization);
      if (stream.session) {
        verified.set(stream.session, {
          header: headers.authorization!,
          agentId,
          exp: Date.now() + 60_000,
        });
      }
    }
  } catch (err) {
    return endWithStatus(
      stream,
      Status.UNAUTHENTICATED,
      err instanceof Error ? err.message : "unauthenticated",
    );
  }
  if (stream.destroyed) return;
  stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
  stream.once("wantTrailers", () =>
    stream.sendTrailers(statusOf.get(stream) ?? { "grpc-status": "0" }),
  );
  if (method === "Attach") handleAttach(stream, agentId, deps);
  else handleTunnel(stream, agentId, deps);
}

function handleAttach(stream: ServerHttp2Stream, agentId: string, deps: AgentServiceDeps): void {
  const handle = deps.registry.attach(agentId, stream);
  const reader = new FrameReader((msg) => {
    const req = decodeMessage(AttachRequestSchema, msg);
    if (req instanceof Error) return endWithStatus(stream, Status.INVALID_ARGUMENT, req.message);
    if (req.payload.case !== "announce") return;
    const a = req.payload.value;
    if (a.agentId && a.agentId !== agentId) {
      return endWithStatus(
        stream,
        Status.INVALID_ARGUMENT,
        "announce names another agent than the relay token",
      );
    }
    const err = deps.registry.announce(handle, a.sessionIds, a.directEndpoints);
    if (err) return endWithStatus(stream, Status.INVALID_ARGUMENT, err.message);
    deps.log.debug("agent announced sessions", {
      agentId,
      sessions: a.sessionIds.length,
      epoch: a.ringEpoch,
    });
  }, 1024 * 1024);
  stream.on("data", (chunk: Buffer) => {
    const err = reader.push(chunk);
    if (err) endWithStatus(stream, Status.INVALID_ARGUMENT, err.message);
  });
  stream.on("end", () => endWithStatus(stream, 0, "attach ended"));
  stream.on("close", () => {
    deps.registry.detach(handle);
    deps.log.info("agent detached", { agentId });
  });
  deps.log.info("agent attached", { agentId });
}

function handleTunnel(stream: ServerHttp2Stream, agentId: string, deps: AgentServiceDeps): void {
  const tunnel: AgentTunnel = { stream, queue: [] };
  let opened = false;
  let queued = 0;
  const reader = new TunnelReader(2, (msg, isData, whole) => {
    if (tunnel.deliver) return tunnel.deliver(msg, isData, whole);
    if (opened) {
      // Pieces are subarrays of chunks nobody else holds; keeping them is safe.
      tunnel.queue.push([msg, isData]);
      queued += msg.length;
      if (queued > QUEUE_LIMIT) stream.pause();
      return;
    }
    opened = true;
    const req = isData ? undefined : decodeMessage(TunnelRequestSchema, msg);
    if (!req || req instanceof Error || req.payload.case !== "open") {
      return endWithStatus(
        stream,
        Status.INVALID_ARGUMENT,
        "the first Tunnel message must be TunnelOpen",
      );
    }
    const { sessionId, connectionId, dataChannel } = req.payload.value;
    if (!deps.registry.completeTunnel(agentId, sessionId, connectionId, tunnel, dataChannel)) {
      endWithStatus(
        stream,
        Status.NOT_FOUND,
        dataChannel
          ? "no data channel is attached for this connection id (it may have closed)"
          : "no viewer is waiting for this connection id (it may have timed out)",
      );
    }
  });
  stream.on("data", (chunk: Buffer) => {
    const err = reader.push(chunk);
    if (err) {
      if (tunnel.fail) tunnel.fail();
      else endWithStatus(stream, Status.INVALID_ARGUMENT, err.message);
    }
  });
}
