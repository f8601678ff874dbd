/**
 * A Clock that only moves when the test says so, so lease, heartbeat and TTL logic can be
 * tested with production-sized durations (15 s leases) in milliseconds of real time.
 */
import type { Clock, TimerHandle } from "./clock.ts";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  handle: TimerHandle;
}

/** Manual clock: advance(ms) fires due timers in time order, letting promises settle between. */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = { id: Symbol("timer") };
    this.timers.push({ at: this.t + Math.max(0, ms), seq: this.seq++, fn, handle });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((x) => x.handle !== handle);
  }

  /** Timers not yet fired (a test can assert nothing was left scheduled). */
  get pending(): number {
    return this.timers.length;
  }

  /**
   * Moves time forward by `ms` in steps of `step`, firing every timer that falls due on the
   * way (in due order, ties in scheduling order) and settling promises after each, so work a
   * timer starts can schedule the next timer before time moves on.
   */
  async advance(ms: number, step = 10): Promise<void> {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + step);
      for (;;) {
        this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        const due = this.timers[0];
        if (!due || due.at > this.t) break;
        this.timers.shift();
        due.fn();
        await settle();
      }
    }
  }
}

/** Lets pending promise callbacks and I/O-free async work run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
