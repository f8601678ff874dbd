/**
 * What the parts of a pod report to /health and /ready. Each part owns its check; the HTTP
 * part only asks, so a new dependency adds a check without touching the probe code.
 */

/** One dependency's state; `detail` is for a person reading /health. */
export type CheckResult = { ok: boolean; detail?: string };

/** A named check; a thrown error counts as not ok, with its message as the detail. */
export type Check = () => Promise<CheckResult>;

/**
 * How long one check may take. A dependency behind a partition neither answers nor fails (its
 * sockets are silent, not closed); a probe must still answer, and say which part is stuck.
 */
export const CHECK_TIMEOUT_MS = 2_000;

/** Runs every check at once; never throws, and answers within CHECK_TIMEOUT_MS. */
export async function runChecks(
  checks: Record<string, Check>,
  timeoutMs = CHECK_TIMEOUT_MS,
): Promise<Record<string, CheckResult>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<CheckResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }),
          timeoutMs,
        );
      });
      const result = await Promise.race([
        check().catch((e: unknown) => ({
          ok: false,
          detail: e instanceof Error ? e.message : String(e),
        })),
        late,
      ]);
      clearTimeout(timer);
      return [name, result] as const;
    }),
  );
  return Object.fromEntries(entries);
}
