/**
 * Shared test waits: one poll helper and a few named durations, so no test sleeps for
 * correctness and every wait has a deadline.
 */

/** Named test durations; tests pick one instead of inventing numbers. */
export const WAIT = { short: 2_000, medium: 10_000, long: 30_000 } as const;

/** Polls `fn` until it returns a truthy value (returned) or the deadline passes (throws its last error). */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? WAIT.medium);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `eventually: ${opts.what ?? "condition"} not met within ${opts.timeoutMs ?? WAIT.medium} ms`,
        {
          cause: last,
        },
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}
