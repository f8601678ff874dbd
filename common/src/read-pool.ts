/**
 * Recycled read buffers for VNC sockets (the agent's, and the relay's in direct mode). Node otherwise allocates a fresh 64 KiB
 * ArrayBuffer for every socket read; at hundreds of MB/s that churn made V8 run several full
 * GCs a second (bench/RESULTS.md, "VNC relay"). A buffer goes back to the pool only after the
 * write that carried it (HTTP/2, data channel or WebSocket) has completed, so it is never overwritten while queued.
 *
 * Bounded: at most `maxFree` idle buffers are kept (completions arrive in bursts of hundreds
 * when one socket write finishes, so the cap must sit above a burst or the pool thrashes), and
 * buffers that stayed idle for a whole trim period are dropped, so a quiet agent gives the
 * memory back.
 */
export class ReadPool {
  readonly #free: Buffer[] = [];
  /** Fewest idle buffers seen since the last trim: that many were not needed. */
  #lowWater = 0;

  constructor(
    readonly size: number,
    readonly maxFree: number,
  ) {}

  /** A buffer of `size` bytes whose contents are undefined. */
  take(): Buffer {
    const buf = this.#free.pop();
    if (this.#free.length < this.#lowWater) this.#lowWater = this.#free.length;
    return buf ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Returns a buffer nobody references any more. */
  give(buf: Buffer): void {
    if (buf.length === this.size && this.#free.length < this.maxFree) this.#free.push(buf);
  }

  /** Drops the buffers that were idle for the whole period since the last trim. */
  trim(): void {
    this.#free.length -= Math.min(this.#lowWater, this.#free.length);
    this.#lowWater = this.#free.length;
  }

  /** Idle buffers held (tests). */
  get idle(): number {
    return this.#free.length;
  }
}

/** Shared by every tunnel of the process: 64 KiB reads, at most 64 MiB idle, trimmed every 10 s. */
export const vncReadPool = new ReadPool(64 * 1024, 1024);
setInterval(() => vncReadPool.trim(), 10_000).unref();
