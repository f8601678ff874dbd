/**
 * The agent end of one viewer connection: a Tunnel stream to the relay spliced with a TCP
 * connection to the session's VNC server. Backpressure both ways: a full HTTP/2 stream pauses
 * the VNC socket, a full VNC socket pauses the HTTP/2 stream (and HTTP/2 flow control then
 * pushes back through the relay to the browser). Data frames are never copied (tunnel-wire).
 */

import type { ClientHttp2Stream } from "node:http2";
import { connect, type Socket } from "node:net";
import { create } from "@bufbuild/protobuf";
import { vncReadPool } from "@streamspace/common/read-pool";
import {
  dataFieldOf,
  dataPrefix,
  decodeMessage,
  encodeMessage,
  TunnelReader,
} from "@streamspace/common/tunnel-wire";
import {
  TunnelCloseCode,
  TunnelCloseSchema,
  TunnelOpenSchema,
  TunnelRequestSchema,
  TunnelResponseSchema,
} from "@streamspace/proto/streamspace/relay/v1/relay_pb";

/** Bytes queued on either side before the other side is paused (bounded buffering). */
export const STREAM_HIGH_WATER = 256 * 1024;

/** Why a tunnel ended, for logs. */
export type TunnelEnd = { code: TunnelCloseCode; reason: string };

function closeFrame(code: TunnelCloseCode, reason: string): Buffer {
  return encodeMessage(
    TunnelRequestSchema,
    create(TunnelRequestSchema, {
      payload: { case: "close", value: create(TunnelCloseSchema, { code, reason }) },
    }),
  );
}

/** Sends TunnelOpen, then splices with the VNC endpoint (or closes with a reason if none). */
export function runTunnel(opts: {
  stream: ClientHttp2Stream;
  /** A data channel the relay accepted (data-channel.ts): bytes flow there, not on `stream`. */
  data?: Socket;
  sessionId: string;
  connectionId: string;
  token: string;
  endpoint: { host: string; port: number } | undefined;
  onEnd(end: TunnelEnd): void;
}): void {
  const { stream, data } = opts;
  let ended = false;
  let tcp: Socket | undefined;
  const finish = (code: TunnelCloseCode, reason: string, tell: boolean) => {
    if (ended) return;
    ended = true;
    if (data && !data.destroyed) {
      // Its queued bytes go first; the relay waits for this end before acting on the close.
      data.end();
      setTimeout(() => data.destroy(), 5_000).unref();
    }
    if (tell && !stream.destroyed && stream.writable) stream.end(closeFrame(code, reason));
    else if (!stream.destroyed && stream.writable) stream.end();
    setTimeout(() => stream.destroy(), 5_000).unref();
    tcp?.destroy();
    opts.onEnd({ code, reason });
  };
  stream.on("error", () => finish(TunnelCloseCode.ERROR, "tunnel stream failed", false));
  stream.on("close", () => finish(TunnelCloseCode.ERROR, "tunnel stream closed", false));
  const open = create(TunnelRequestSchema, {
    payload: {
      case: "open",
      value: create(TunnelOpenSchema, {
        sessionId: opts.sessionId,
        connectionId: opts.connectionId,
        token: opts.token,
        dataChannel: data !== undefined,
      }),
    },
  });
  stream.write(encodeMessage(TunnelRequestSchema, open));
  data?.on("error", () => {});
  if (!opts.endpoint) {
    finish(TunnelCloseCode.SESSION_NOT_FOUND, "this agent does not run the session", true);
    return;
  }
  let tcpPaused = false;
  let h2Paused = false;
  // VNC bytes are read into pooled buffers (common read-pool.ts) and handed to HTTP/2 as they are;
  // each buffer returns to the pool when the write that carried it completes.
  const onVncData = (n: number, buf: Buffer) => {
    if (ended) return false;
    const give = (err?: Error | null) => {
      if (!err) vncReadPool.give(buf);
    };
    if (data) data.write(buf.subarray(0, n), give);
    else {
      stream.cork();
      stream.write(dataPrefix(2, n));
      stream.write(buf.subarray(0, n), give);
      stream.uncork();
    }
    // Pause on our own mark, not write()'s 16 KiB one: stop-and-go per VNC chunk halves
    // throughput. 'drain' still fires because write() returned false on the way up.
    if ((data ?? stream).writableLength > STREAM_HIGH_WATER && !tcpPaused) {
      tcpPaused = true;
      sock.pause();
    }
    return true;
  };
  const sock = connect({
    host: opts.endpoint.host,
    port: opts.endpoint.port,
    noDelay: true,
    onread: { buffer: () => vncReadPool.take(), callback: onVncData },
  });
  tcp = sock;
  sock.on("error", (err) => {
    const code = (err as NodeJS.ErrnoException).code;
    finish(
      sock.connecting || code === "ECONNREFUSED"
        ? TunnelCloseCode.VNC_UNREACHABLE
        : TunnelCloseCode.ERROR,
      `VNC connection failed (${code ?? err.message})`,
      true,
    );
  });
  sock.on("end", () =>
    finish(TunnelCloseCode.NORMAL, "the VNC server closed the connection", true),
  );
  sock.on("close", () =>
    finish(TunnelCloseCode.NORMAL, "the VNC server closed the connection", true),
  );
  (data ?? stream).on("drain", () => {
    if (tcpPaused) {
      tcpPaused = false;
      sock.resume();
    }
  });
  sock.on("drain", () => {
    if (h2Paused) {
      h2Paused = false;
      (data ?? stream).resume();
    }
  });
  // Data pieces stream straight to the VNC socket as they arrive (no reassembly).
  const reader = new TunnelReader(1, (msg, isData) => {
    let bytes: Uint8Array | undefined = isData ? msg : dataFieldOf(msg, 1);
    if (!bytes) {
      const res = decodeMessage(TunnelResponseSchema, msg);
      if (res instanceof Error)
        return finish(TunnelCloseCode.ERROR, "the relay sent a malformed frame", true);
      if (res.payload.case === "close") {
        return finish(
          res.payload.value.code,
          res.payload.value.reason || "closed by the relay",
          false,
        );
      }
      if (res.payload.case !== "data") return;
      bytes = res.payload.value;
    }
    toVnc(bytes);
  });
  function toVnc(bytes: Uint8Array) {
    if (bytes.length === 0 || ended) return;
    sock.write(bytes);
    if (sock.writableLength > STREAM_HIGH_WATER && !h2Paused) {
      h2Paused = true;
      (data ?? stream).pause();
    }
  }
  if (data) {
    data.on("data", toVnc);
    data.on("end", () => finish(TunnelCloseCode.NORMAL, "the relay ended the tunnel", false));
    data.on("close", () => finish(TunnelCloseCode.ERROR, "the data channel closed", false));
    if (!h2Paused) data.resume();
  }
  stream.on("data", (chunk: Buffer) => {
    const err = reader.push(chunk);
    if (err) finish(TunnelCloseCode.ERROR, err.message, true);
  });
  stream.on("end", () => finish(TunnelCloseCode.NORMAL, "the relay ended the tunnel", false));
}
