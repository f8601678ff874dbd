/**
 * gRPC framing of the relay.v1 messages, by hand, over node:http2. Shared by the relay and the
 * agent ("@streamspace/common/tunnel-wire"). The data path is the hot path: a data frame is
 * written as a 5-byte gRPC prefix plus the protobuf tag and length, followed by the payload
 * buffer itself, and read back as a subarray of the received chunk, so bytes are never copied
 * or wrapped in message objects. Control messages (open, close, announce) go through the
 * generated schemas. The wire stays standard gRPC, so any gRPC client can still talk to it.
 */
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";

/** Largest message accepted; VNC framebuffer updates are chunked far below this. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** gRPC path prefix of the relay service. */
export const RELAY_SERVICE_PATH = "/streamspace.relay.v1.RelayService/";

/**
 * First bytes of an agent's raw TCP data channel to the relay's port, followed by the 32-byte
 * secret from TunnelOpen. 0x00 starts neither HTTP/1.1 nor the HTTP/2 preface ("PRI").
 */
export const DATA_CHANNEL_PREFACE = Buffer.from([0x00, 0x44, 0x43, 0x31]); // \0 "DC1"
/** The relay's one-byte answer when it accepts a data channel (it closes otherwise). */
export const DATA_CHANNEL_ACK = 0x01;

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/**
 * Prefix (gRPC header + field tag + length) for a data field of `len` bytes. `fieldNo` is 1 for
 * TunnelResponse.data and 2 for TunnelRequest.data.
 */
export function dataPrefix(fieldNo: number, len: number): Buffer {
  const vlen = varintLength(len);
  const msgLen = 1 + vlen + len;
  const out = Buffer.allocUnsafe(5 + 1 + vlen);
  out[0] = 0;
  out.writeUInt32BE(msgLen, 1);
  out[5] = (fieldNo << 3) | 2;
  let n = len;
  let i = 6;
  while (n >= 0x80) {
    out[i++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[i] = n;
  return out;
}

/** A whole gRPC frame for a control message. */
export function encodeMessage<D extends DescMessage>(schema: D, msg: MessageShape<D>): Buffer {
  const body = toBinary(schema, msg);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/** Tries the data fast path: returns the payload subarray if `msg` is exactly one data field. */
export function dataFieldOf(msg: Buffer, fieldNo: number): Buffer | undefined {
  if (msg.length < 2 || msg[0] !== ((fieldNo << 3) | 2)) return undefined;
  let len = 0;
  let shift = 1;
  let i = 1;
  for (;;) {
    const b = msg[i++];
    if (b === undefined || i > 6) return undefined;
    len += (b & 0x7f) * shift;
    if (b < 0x80) break;
    shift *= 128;
  }
  return i + len === msg.length ? msg.subarray(i) : undefined;
}

/** Decodes a control message, or returns an Error naming what was wrong. */
export function decodeMessage<D extends DescMessage>(
  schema: D,
  msg: Buffer,
): MessageShape<D> | Error {
  try {
    return fromBinary(schema, msg);
  } catch (cause) {
    return new Error(`malformed ${schema.typeName}`, { cause });
  }
}

/**
 * Incremental gRPC message splitter. Chunks are kept as-is; a message that sits inside one
 * chunk is handed out as a subarray (no copy), only messages straddling chunks are joined.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(
    private readonly onMessage: (msg: Buffer) => void,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
  ) {}

  /** Feeds bytes; returns an Error (and stops) on a compressed or oversized message. */
  push(chunk: Buffer): Error | undefined {
    if (this.#buffered === 0) {
      // Fast path: parse straight out of the chunk.
      let off = 0;
      while (chunk.length - off >= 5) {
        if (chunk[off] !== 0) return new Error("compressed gRPC messages are not supported");
        const len = chunk.readUInt32BE(off + 1);
        if (len > this.maxBytes)
          return new Error(`gRPC message of ${len} bytes exceeds ${this.maxBytes}`);
        if (chunk.length - off - 5 < len) break;
        this.onMessage(chunk.subarray(off + 5, off + 5 + len));
        off += 5 + len;
      }
      if (off === chunk.length) return undefined;
      chunk = chunk.subarray(off);
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#buffered < 5) return undefined;
      const head = this.#chunks[0]!.length >= 5 ? this.#chunks[0]! : this.#join();
      if (head[0] !== 0) return new Error("compressed gRPC messages are not supported");
      const len = head.readUInt32BE(1);
      if (len > this.maxBytes)
        return new Error(`gRPC message of ${len} bytes exceeds ${this.maxBytes}`);
      if (this.#buffered < 5 + len) return undefined;
      const all = this.#join();
      this.#chunks = all.length > 5 + len ? [all.subarray(5 + len)] : [];
      this.#buffered = all.length - 5 - len;
      this.onMessage(all.subarray(5, 5 + len));
    }
  }

  #join(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#buffered)];
    return this.#chunks[0]!;
  }
}

/**
 * Streaming reader for Tunnel streams: the payload of a data message is handed out piece by
 * piece as chunks arrive (`isData` = true), as subarrays of the received chunks, without
 * waiting for or reassembling the whole message. VNC is a byte stream, so the pieces can go
 * straight to the other socket; this removes the copy and the store-and-forward delay that
 * FrameReader would add for a 64 KiB framebuffer chunk split over several HTTP/2 frames.
 * Anything else (open, close, or a data message whose header straddles chunks) is delivered
 * whole with `isData` = false. `whole` is true when a data piece is its message's entire
 * payload (a small interactive message that needs no batching).
 */
export class TunnelReader {
  #head: Buffer = Buffer.alloc(5);
  #headLen = 0;
  /** Bytes left in the current message; -1 while reading a header. */
  #left = -1;
  /** True while streaming a data payload; false while collecting a whole message. */
  #streaming = false;
  #parts: Buffer[] = [];
  #msgLen = 0;
  /** Payload length of the data message being streamed. */
  #dataLen = 0;

  constructor(
    private readonly fieldNo: number,
    private readonly onMessage: (buf: Buffer, isData: boolean, whole: boolean) => void,
    private readonly maxBytes = MAX_MESSAGE_BYTES,
  ) {}

  /** Feeds bytes; returns an Error (and stops) on a compressed or oversized message. */
  push(chunk: Buffer): Error | undefined {
    let off = 0;
    while (off < chunk.length) {
      if (this.#left < 0) {
        // Header: fast path when all 5 bytes are here, else collect across chunks.
        if (this.#headLen === 0 && chunk.length - off >= 5) {
          this.#head = chunk.subarray(off, off + 5);
          off += 5;
        } else {
          const take = Math.min(5 - this.#headLen, chunk.length - off);
          if (this.#headLen === 0) this.#head = Buffer.alloc(5);
          chunk.copy(this.#head, this.#headLen, off, off + take);
          this.#headLen += take;
          off += take;
          if (this.#headLen < 5) return undefined;
        }
        this.#headLen = 0;
        if (this.#head[0] !== 0) return new Error("compressed gRPC messages are not supported");
        const len = this.#head.readUInt32BE(1);
        if (len > this.maxBytes)
          return new Error(`gRPC message of ${len} bytes exceeds ${this.maxBytes}`);
        this.#msgLen = len;
        this.#left = len;
        this.#streaming = false;
        this.#parts = [];
        if (len === 0) {
          this.#left = -1;
          this.onMessage(Buffer.alloc(0), false, true);
          continue;
        }
        // Data fast path: tag and length varint present in this chunk and consistent.
        const vl = this.#dataHeader(chunk, off, len);
        if (vl > 0) {
          off += vl;
          this.#left = len - vl;
          this.#dataLen = this.#left;
          this.#streaming = true;
          if (this.#left === 0) this.#left = -1;
          continue;
        }
      }
      const take = Math.min(this.#left, chunk.length - off);
      const piece = chunk.subarray(off, off + take);
      off += take;
      this.#left -= take;
      if (this.#streaming) {
        this.onMessage(piece, true, take === this.#dataLen);
      } else {
        this.#parts.push(piece);
      }
      if (this.#left === 0) {
        this.#left = -1;
        if (!this.#streaming) {
          const parts = this.#parts;
          this.#parts = [];
          this.onMessage(
            parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#msgLen),
            false,
            true,
          );
        }
      }
    }
    return undefined;
  }

  /** Length of tag + varint if `chunk[off…]` starts a data field spanning the message, else 0. */
  #dataHeader(chunk: Buffer, off: number, msgLen: number): number {
    if (chunk[off] !== ((this.fieldNo << 3) | 2)) return 0;
    let len = 0;
    let shift = 1;
    for (let i = 1; i <= 5; i++) {
      const b = chunk[off + i];
      if (b === undefined) return 0;
      len += (b & 0x7f) * shift;
      if (b < 0x80) return 1 + i + len === msgLen ? 1 + i : 0;
      shift *= 128;
    }
    return 0;
  }
}
