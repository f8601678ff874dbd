/**
 * Time as a dependency: heartbeats, backoff, leases, TTLs and deadlines read it through this
 * interface so tests can drive a ManualClock (`@streamspace/common/testing`) instead of
 * sleeping, and production-sized durations cost no real time in a test.
 */

/** An opaque timer handle returned by Clock.setTimeout. */
export type TimerHandle = { readonly id: unknown };

/** The few time operations the services need. */
export interface Clock {
  /** Milliseconds since the epoch (wall time: leases compare it across processes). */
  now(): number;
  /** Calls `fn` once after `ms`; the handle cancels it. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock; timers are unref'd so they never keep a finished process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { id: t };
  },
  clearTimeout(handle) {
    clearTimeout(handle.id as NodeJS.Timeout);
  },
};

/**
 * Resolves after `ms` on the given clock, or rejects with the signal's reason when it aborts
 * (so a stopping loop never waits out its backoff).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
