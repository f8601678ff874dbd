/** Small helpers the recovery and start-up benchmarks share: order statistics and a table row. */

/** The q-quantile (0..1) of `xs` by nearest rank; NaN for an empty list. */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

/** "median / min / max" in whole milliseconds. */
export function spread(xs: number[]): string {
  const ms = (v: number) => `${Math.round(v).toLocaleString("en")} ms`;
  return `${ms(quantile(xs, 0.5))} | ${ms(Math.min(...xs))} | ${ms(Math.max(...xs))}`;
}

/** The 1-minute load average, so a figure carries how busy the machine was. */
export async function loadAverage(): Promise<string> {
  const { loadavg } = await import("node:os");
  return loadavg()[0]?.toFixed(1) ?? "?";
}
