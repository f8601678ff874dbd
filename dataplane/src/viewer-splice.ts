/**
 * Splices one viewer WebSocket with one agent Tunnel stream. Backpressure runs end to end:
 * when the HTTP/2 stream's write returns false the WebSocket stops reading (so TCP pushes back
 * to the browser), and when the WebSocket's send buffer passes HIGH_WATER the HTTP/2 stream
 * stops reading (so HTTP/2 flow control pushes back to the agent and on to the VNC server).
 * Neither side ever buffers more than one high-water mark plus one message.
 */

import type { ServerHttp2Stream } from "node:http2";
import type { Socket } from "node:net";
import { create } from "@bufbuild/protobuf";
import {
  dataFieldOf,
  dataPrefix,
  decodeMessage,
  encodeMessage,
} from "@streamspace/common/tunnel-wire";
import {
  TunnelCloseCode,
  TunnelCloseSchema,
  TunnelRequestSchema,
  TunnelResponseSchema,
} from "@streamspace/proto/streamspace/relay/v1/relay_pb";
import type { WebSocket } from "ws";
import type { RelayMetrics } from "./metrics.ts";
import type { ViewerQoe } from "./session-qoe.ts";
import { sendPieces } from "./ws-frame.ts";

/** Largest WebSocket frame built from coalesced HTTP/2 pieces. */
const COALESCE_BYTES = 256 * 1024;

/** A whole data message up to this size, with nothing else pending, is sent without waiting. */
const SOLO_BYTES = 16 * 1024;

/** Bytes queued towards a viewer before the agent stream is paused. */
export const HIGH_WATER = 256 * 1024;

/** How long a close from the agent waits for the data channel's last bytes. */
const DATA_DRAIN_MS = 5_000;

/** A live viewer connection as the idle sweeper sees it. */
export interface Splice {
  lastActive: number;
  close(code: number, reason: string): void;
}

const CLOSE_FROM_AGENT: Record<number, [number, string]> = {
  [TunnelCloseCode.NORMAL]: [1000, "the session closed the connection"],
  [TunnelCloseCode.SESSION_NOT_FOUND]: [4404, "the agent does not know this session"],
  [TunnelCloseCode.VNC_UNREACHABLE]: [1011, "the session's VNC server is unreachable"],
  [TunnelCloseCode.IDLE_TIMEOUT]: [4408, "idle timeout"],
  [TunnelCloseCode.RELAY_MOVED]: [1012, "the session moved to another relay; reconnect"],
};

function tunnelCodeFor(wsCode: number): TunnelCloseCode {
  if (wsCode === 1000 || wsCode === 1001 || wsCode === 1005) return TunnelCloseCode.NORMAL;
  if (wsCode === 4408) return TunnelCloseCode.IDLE_TIMEOUT;
  return TunnelCloseCode.ERROR;
}

/**
 * An agent Tunnel stream after its TunnelOpen: messages read before the splice starts wait in
 * `queue` (the reader pauses the stream when it grows), then go to `deliver`.
 */
export interface AgentTunnel {
  stream: ServerHttp2Stream;
  /** [bytes, isData]: data pieces are raw payload, the rest whole messages (TunnelReader). */
  queue: [Buffer, boolean][];
  deliver?: (msg: Buffer, isData: boolean, whole: boolean) => void;
  fail?: () => void;
  /**
   * The agent's raw TCP data channel (data-channel.ts), when the bytes flow there; the stream
   * then carries only open and close.
   */
  data?: Socket;
}

/** Starts relaying; `onEnd` runs once when both sides are done. */
export function spliceViewer(
  ws: WebSocket,
  tunnel: AgentTunnel,
  metrics: RelayMetrics,
  onEnd: (s: Splice) => void,
  /** Per-session QoE and input activity (session-qoe.ts); sees the bytes, never changes them. */
  qoe?: ViewerQoe,
): Splice {
  const stream = tunnel.stream;
  const data = tunnel.data;
  // Where agent bytes come from: paused when the viewer falls behind.
  const source: { pause(): unknown; resume(): unknown } = data ?? stream;
  let wsPaused = false;
  let h2Paused = false;
  let ended = false;
  // A close from the agent waits until the data channel has delivered its last bytes.
  let dataEnded = !data;
  let agentClose: [number, string, TunnelCloseCode] | undefined;
  const splice: Splice = {
    lastActive: Date.now(),
    close: (code, reason) => finish(code, reason, tunnelCodeFor(code)),
  };
  const resumeH2 = () => {
    if (h2Paused) {
      h2Paused = false;
      source.resume();
    }
  };
  const agentDone = (wsCode: number, reason: string, tunnelCode: TunnelCloseCode) => {
    if (ended || agentClose) return;
    agentClose = [wsCode, reason, tunnelCode];
    if (dataEnded) return finish(wsCode, reason, tunnelCode);
    setTimeout(() => finish(wsCode, reason, tunnelCode), DATA_DRAIN_MS).unref();
  };

  function finish(wsCode: number, reason: string, tunnelCode: TunnelCloseCode) {
    if (ended) return;
    ended = true;
    if (!stream.destroyed && stream.writable) {
      const close = create(TunnelResponseSchema, {
        payload: { case: "close", value: create(TunnelCloseSchema, { code: tunnelCode, reason }) },
      });
      stream.end(encodeMessage(TunnelResponseSchema, close));
      // The agent ends its half promptly; do not wait forever for it.
      setTimeout(() => stream.destroy(), 5_000).unref();
    }
    if (data && !data.destroyed) {
      data.end();
      data.resume(); // read the agent's FIN
      setTimeout(() => data.destroy(), 5_000).unref();
    }
    ws.resume(); // a paused viewer socket would never read the close reply
    if (ws.readyState === ws.OPEN) ws.close(wsCode, reason);
    metrics.countClose(wsCode);
    qoe?.close();
    onEnd(splice);
  }

  // HTTP/2 hands data over in pieces of at most 16 KiB; one WebSocket frame (one syscall) per
  // piece cost more CPU than batching. Pieces that arrive in the same event-loop turn leave as
  // one frame, written as one writev of the pieces themselves (ws-frame.ts: joining them was a
  // copy and a large allocation per frame, which fed the GC).
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    if (pendingBytes === 0 || ended) return;
    const pieces = pending;
    const len = pendingBytes;
    pending = [];
    pendingBytes = 0;
    if (!h2Paused && ws.bufferedAmount + len > HIGH_WATER) {
      h2Paused = true;
      source.pause();
      sendPieces(ws, pieces, len, resumeH2);
    } else {
      sendPieces(ws, pieces, len);
    }
  };
  const pushBytes = (bytes: Buffer, whole: boolean) => {
    if (bytes.length === 0 || ended) return;
    metrics.bytesToViewers += bytes.length;
    qoe?.serverBytes(bytes.length);
    splice.lastActive = Date.now();
    pending.push(bytes);
    pendingBytes += bytes.length;
    // A lone small message (pointer echo, cursor, small damage) goes out now: waiting a
    // turn for company only adds latency when nothing else is flowing.
    if (
      pendingBytes >= COALESCE_BYTES ||
      (whole && pendingBytes === bytes.length && bytes.length <= SOLO_BYTES)
    )
      flush();
    else if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };
  const onAgentMessage = (msg: Buffer, isData: boolean, whole: boolean) => {
    const bytes = isData ? msg : dataFieldOf(msg, 2);
    if (bytes) return pushBytes(bytes, whole);
    flush();
    const req = decodeMessage(TunnelRequestSchema, msg);
    if (req instanceof Error)
      return finish(1011, "the agent sent a malformed frame", TunnelCloseCode.ERROR);
    if (req.payload.case === "close") {
      const [code, reason] = CLOSE_FROM_AGENT[req.payload.value.code] ?? [
        1011,
        "the agent closed the tunnel",
      ];
      const detail = req.payload.value.reason;
      // Close reasons must fit a control frame (123 bytes).
      const text = (detail && detail !== reason ? `${reason} (${detail})` : reason).slice(0, 120);
      return agentDone(code, text, TunnelCloseCode.NORMAL);
    }
    if (req.payload.case === "data") {
      // A data field the fast path did not take (e.g. unusual encoding): still deliver it.
      metrics.bytesToViewers += req.payload.value.length;
      ws.send(req.payload.value);
    }
  };
  tunnel.deliver = onAgentMessage;
  tunnel.fail = () => finish(1011, "the agent sent an invalid frame", TunnelCloseCode.ERROR);
  for (const [msg, isData] of tunnel.queue.splice(0)) onAgentMessage(msg, isData, false);
  if (data) stream.resume(); // control only from here on
  if (!h2Paused) source.resume();
  const resumeWs = () => {
    if (wsPaused) {
      wsPaused = false;
      ws.resume();
    }
  };
  stream.on("drain", resumeWs);
  stream.on("end", () =>
    agentDone(1000, "the session closed the connection", TunnelCloseCode.NORMAL),
  );
  stream.on("close", () =>
    agentDone(1011, "the agent's tunnel dropped; reconnect", TunnelCloseCode.ERROR),
  );
  stream.on("error", () =>
    agentDone(1011, "the agent's tunnel failed; reconnect", TunnelCloseCode.ERROR),
  );
  if (data) {
    // Reads are whole TCP reads: a small one means nothing else is flowing, so send it now.
    data.on("data", (chunk: Buffer) => pushBytes(chunk, true));
    data.on("drain", resumeWs);
    data.on("error", () => {});
    data.on("end", () => {
      flush();
      dataEnded = true;
      if (agentClose) finish(...agentClose);
      // Otherwise the close with its reason follows on the stream; do not wait for ever.
      else
        setTimeout(
          () => finish(1000, "the session closed the connection", TunnelCloseCode.NORMAL),
          DATA_DRAIN_MS,
        ).unref();
    });
    data.on("close", () => {
      if (!dataEnded)
        finish(1011, "the agent's data channel dropped; reconnect", TunnelCloseCode.ERROR);
    });
  }

  ws.on("message", (msg: Buffer, isBinary: boolean) => {
    if (!isBinary)
      return finish(
        1003,
        "text frames are not supported; send binary frames",
        TunnelCloseCode.ERROR,
      );
    if (ended || stream.destroyed) return;
    metrics.bytesFromViewers += msg.length;
    qoe?.clientBytes(msg);
    splice.lastActive = Date.now();
    if (data) data.write(msg);
    else {
      stream.cork();
      stream.write(dataPrefix(1, msg.length));
      stream.write(msg);
      stream.uncork();
    }
    // Our own mark rather than write()'s 16 KiB: stop-and-go per message costs throughput.
    if ((data ?? stream).writableLength > HIGH_WATER && !wsPaused) {
      wsPaused = true;
      ws.pause();
    }
  });
  ws.on("close", (code: number) =>
    finish(code === 1005 ? 1000 : code, "viewer closed", tunnelCodeFor(code)),
  );
  ws.on("error", () => finish(1011, "viewer connection failed", TunnelCloseCode.ERROR));
  ws.resume();
  return splice;
}
