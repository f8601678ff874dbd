/**
 * Test waits shared by every package (CONVENTIONS.md: one small set of named durations, and
 * `eventually()` polls with a deadline instead of sleeping). Two shapes of condition exist in
 * the suites, so there are two pollers: an assertion that passes once it stops throwing, and a
 * lookup that passes once it finds something.
 */

/** Named test durations; a test picks one instead of inventing a number. */
export const WAIT = {
  /** Something in-process or on loopback that should be immediate. */
  short: 2_000,
  /** A round trip through real services (Postgres, Redis, a child process). */
  medium: 10_000,
  /** Process starts, reconnects with backoff, desktops starting. */
  long: 30_000,
  /** Whole systems (several processes and a browser) on a busy machine. */
  slow: 60_000,
} as const;

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Named in the timeout error, so a failure says what never happened. */
  what?: string;
}

/** Thrown from a condition to stop polling at once: it can never hold. */
export class GiveUp extends Error {}

async function poll<T>(
  fn: () => T | Promise<T>,
  done: (v: T) => boolean,
  opts: PollOptions,
  defaultTimeoutMs: number,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (done(v)) return v;
      last = undefined;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      // An assertion's own message is the most useful one; keep it as the error when there is one.
      if (last instanceof Error && !opts.what) throw last;
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${opts.what ?? "the condition"}`,
        {
          cause: last,
        },
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

/** Polls until `fn` returns without throwing (and not `false`); returns its value. */
export function eventually<T>(fn: () => T | Promise<T>, opts: PollOptions = {}): Promise<T> {
  return poll(fn, (v) => v !== false, opts, WAIT.medium);
}

/** Polls until `fn` returns something truthy (throws count as "not yet"); returns it. */
export async function eventuallyFound<T>(
  fn: () => T | Promise<T>,
  opts: PollOptions = {},
): Promise<NonNullable<T>> {
  return (await poll(fn, (v) => Boolean(v), opts, WAIT.medium)) as NonNullable<T>;
}

export { freePort } from "./free-port.ts";
export { ManualClock, settle } from "./manual-clock.ts";
