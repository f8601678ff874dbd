/**
 * Per-session serialisation and waiting, for a driver whose truth arrives by watch: operations
 * on one session run one at a time (a duplicate command waits for the first and then finds the
 * work done), and an operation waits for a condition to hold in the watched state, re-checked
 * on every change to that session, until the command's deadline. No timers, no polling.
 */

import { SessionLocks } from "../session-locks.ts";

type Waiter = { check(): void; fail(err: Error): void };

/** Locks and condition waits keyed by session id. */
export class SessionWaits {
  private readonly locks = new SessionLocks();
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closing: Error | undefined;

  /** Called when a session's last queued operation has finished (state may need reporting). */
  set onIdle(fn: ((id: string) => void) | undefined) {
    this.locks.onIdle = fn;
  }

  /** True while an operation on `id` runs or waits to run. */
  busy(id: string): boolean {
    return this.locks.held(id);
  }

  /** Runs `fn` after every earlier operation on `id` has finished. */
  locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(this.closing);
    return this.locks.run(id, fn);
  }

  /** Re-checks every wait on `id`. */
  notify(id: string): void {
    const set = this.waiters.get(id);
    if (set) for (const w of [...set]) w.check();
  }

  /**
   * Resolves with the first value `check` returns (checked now and after each notify), or
   * rejects with `onDeadline()` when `signal` fires.
   */
  until<T>(
    id: string,
    signal: AbortSignal,
    check: () => T | undefined,
    onDeadline: () => Error,
  ): Promise<T> {
    if (this.closing) return Promise.reject(this.closing);
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    if (signal.aborted) return Promise.reject(onDeadline());
    return new Promise<T>((resolve, reject) => {
      let set = this.waiters.get(id);
      if (!set) {
        set = new Set();
        this.waiters.set(id, set);
      }
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        set.delete(w);
        if (set.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
      };
      const onAbort = () => {
        done();
        reject(onDeadline());
      };
      const w: Waiter = {
        check: () => {
          let v: T | undefined;
          try {
            v = check();
          } catch (err) {
            done();
            reject(err);
            return;
          }
          if (v === undefined) return;
          done();
          resolve(v);
        },
        fail: (err) => {
          done();
          reject(err);
        },
      };
      set.add(w);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Fails every wait with `err`, refuses new work, and waits for running operations to end. */
  async close(err: Error): Promise<void> {
    this.closing = err;
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.fail(err);
    await this.locks.settled();
  }
}
