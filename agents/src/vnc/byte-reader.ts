/**
 * Reads exact byte counts from a socket, which is how RFB is framed (fixed headers, then
 * lengths). Buffered bytes are bounded: past `highWaterMark` the socket is paused, so a peer
 * that floods us is slowed by TCP instead of growing our memory.
 */
import type { Socket } from "node:net";

/** An exact-length reader over one socket; `read` rejects once the socket ends. */
export class ByteReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private closed: Error | undefined;
  private waiter: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly highWaterMark = 4 << 20,
  ) {
    socket.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      if (this.size >= this.highWaterMark) socket.pause();
      this.wake();
    });
    const end = (err?: Error) => {
      this.closed ??= err ?? new Error("connection closed");
      this.wake();
    };
    socket.on("end", () => end());
    socket.on("close", () => end());
    socket.on("error", (err) => end(err));
  }

  /** Bytes buffered and not yet read. */
  get buffered(): number {
    return this.size;
  }

  /** Resolves with exactly `n` bytes; rejects when the socket closes first. */
  async read(n: number): Promise<Buffer> {
    while (this.size < n) {
      if (this.closed) throw this.closed;
      if (this.socket.isPaused()) this.socket.resume();
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
    const out = this.take(n);
    if (this.size < this.highWaterMark && this.socket.isPaused()) this.socket.resume();
    return out;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.size -= n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.size -= n;
    return out;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
