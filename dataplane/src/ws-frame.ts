/**
 * Writes one binary WebSocket frame made of several buffers straight onto the viewer's socket,
 * as one writev and without joining them. Joining HTTP/2 pieces into one buffer per frame
 * (Buffer.concat) cost a 256 KiB allocation and copy per frame, and allocation churn was the
 * relay's largest cost under load (~10 full GCs a second); see bench/RESULTS.md, "VNC relay".
 */
import type { Socket } from "node:net";
import type { WebSocket } from "ws";

/** Header of an unmasked (server → client), final, binary frame of `len` payload bytes. */
export function binaryFrameHeader(len: number): Buffer {
  let head: Buffer;
  if (len < 126) {
    head = Buffer.allocUnsafe(2);
    head[1] = len;
  } else if (len < 0x10000) {
    head = Buffer.allocUnsafe(4);
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.allocUnsafe(10);
    head[1] = 127;
    head.writeUInt32BE(Math.floor(len / 0x100000000), 2);
    head.writeUInt32BE(len >>> 0, 6);
  }
  head[0] = 0x82; // FIN + binary opcode
  return head;
}

/**
 * The socket under `ws` when raw frames can be written to it in order with ws's own frames:
 * the server side (no masking), no permessage-deflate, open. ws writes its frames synchronously
 * in that state, so our writes and its control frames (close, pong) cannot interleave mid-frame.
 */
export function rawSocketOf(ws: WebSocket): Socket | undefined {
  const internals = ws as unknown as { _socket?: Socket; _isServer?: boolean };
  if (!internals._isServer || ws.extensions !== "" || ws.readyState !== ws.OPEN) return undefined;
  const sock = internals._socket;
  return sock && !sock.destroyed && sock.writable ? sock : undefined;
}

/**
 * Sends `pieces` (total `len` bytes) as one binary frame; `cb` runs once the last byte has been
 * handed to the kernel (or the socket failed). Falls back to ws.send (one joined buffer) when
 * the raw socket cannot be used.
 */
export function sendPieces(
  ws: WebSocket,
  pieces: readonly Buffer[],
  len: number,
  cb?: (err?: Error | null) => void,
): void {
  const sock = rawSocketOf(ws);
  if (!sock) {
    const data = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, len);
    ws.send(data, cb);
    return;
  }
  sock.cork();
  sock.write(binaryFrameHeader(len));
  const last = pieces.length - 1;
  for (let i = 0; i < last; i++) sock.write(pieces[i]!);
  sock.write(pieces[last]!, cb);
  sock.uncork();
}
