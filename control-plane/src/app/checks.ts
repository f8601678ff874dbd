/**
 * What the parts of a pod report to /health and /ready. Each part owns its check; the HTTP
 * part only asks, so a new dependency adds a check without touching the probe code.
 */

/** One dependency's state; `detail` is for a person reading /health. */
export type CheckResult = { ok: boolean; detail?: string };

/** A named check; a thrown error counts as not ok, with its message as the detail. */
export type Check = () => Promise<CheckResult>;

/** Runs every check at once; never throws. */
export async function runChecks(
  checks: Record<string, Check>,
): Promise<Record<string, CheckResult>> {
  const entries = await Promise.all(
    Object.entries(checks).map(
      async ([name, check]) =>
        [
          name,
          await check().catch((e: unknown) => ({
            ok: false,
            detail: e instanceof Error ? e.message : String(e),
          })),
        ] as const,
    ),
  );
  return Object.fromEntries(entries);
}
