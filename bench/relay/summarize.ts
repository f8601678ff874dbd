/**
 * Turns bench/relay/run.ts JSON files into the markdown table for bench/RESULTS.md: medians over
 * reps per (relay, viewers), with the min–max of the headline figures so noise is visible.
 *
 *   node --import tsx bench/relay/summarize.ts bench/results/relay
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Run {
  relay: string;
  n: number;
  result?: {
    ok_conns: number;
    setup: { greeting_ms: { p50: number; p99: number } };
    latency_ms: { p50: number; p99: number; p999: number; lost?: number };
    throughput: { MBps: number };
    errors: Record<string, number | string[]>;
  };
  relay_cpu_s: { latency: number | null };
  relay_cpu_s_per_gb: number | null;
  agent_cpu_s_per_gb: number | null;
  agent_cpu_s: { latency: number | null } | null;
  relay_peak_rss_mb: number;
}

const dir = process.argv[2] ?? "bench/results/relay";
const runs: Run[] = readdirSync(dir)
  .filter((f) => /-n\d+-r\d+\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Run);

const med = (xs: (number | null | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === "number").sort((a, b) => a - b);
  if (!v.length) return undefined;
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};
const range = (xs: (number | undefined)[]) => {
  const v = xs.filter((x): x is number => typeof x === "number");
  return v.length > 1 ? ` (${Math.min(...v)}–${Math.max(...v)})` : "";
};
const f = (x: number | undefined, d = 1) => (x === undefined ? "–" : x.toFixed(d));

console.log(
  "| relay | viewers | runs | setup p50/p99 ms | RTT p50/p99/p999 ms | MB/s | relay CPU-s lat phase | relay CPU-s/GB (+agent) | relay peak RSS MB | failed viewers |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
const order = ["streamspace", "streamspace-direct", "websockify", "direct"];
const keys = [...new Set(runs.map((r) => `${r.n}|${r.relay}`))].sort((a, b) => {
  const [na, ra] = a.split("|");
  const [nb, rb] = b.split("|");
  return Number(na) - Number(nb) || order.indexOf(ra!) - order.indexOf(rb!);
});
for (const key of keys) {
  const rs = runs.filter((r) => `${r.n}|${r.relay}` === key && r.result);
  if (!rs.length) continue;
  const g = (fn: (r: Run) => number | null | undefined) => rs.map(fn);
  const p50 = g((r) => r.result!.latency_ms.p50);
  const mbps = g((r) => r.result!.throughput.MBps);
  const failed = rs.map((r) => r.n - r.result!.ok_conns);
  const cpuGb = med(g((r) => r.relay_cpu_s_per_gb));
  const agentGb = med(g((r) => r.agent_cpu_s_per_gb));
  const isDirect = rs[0]!.relay === "direct";
  console.log(
    [
      rs[0]!.relay,
      rs[0]!.n,
      rs.length,
      `${f(med(g((r) => r.result!.setup.greeting_ms.p50)))} / ${f(med(g((r) => r.result!.setup.greeting_ms.p99)))}`,
      `${f(med(p50), 2)}${range(p50.map((x) => x ?? undefined))} / ${f(med(g((r) => r.result!.latency_ms.p99)))} / ${f(med(g((r) => r.result!.latency_ms.p999)))}`,
      `${f(med(mbps), 0)}${range(mbps.map((x) => x ?? undefined))}`,
      isDirect ? "–" : f(med(g((r) => r.relay_cpu_s.latency)), 2),
      isDirect ? "–" : `${f(cpuGb, 2)}${agentGb ? ` (+${f(agentGb, 2)})` : ""}`,
      isDirect ? "–" : f(med(g((r) => r.relay_peak_rss_mb)), 0),
      failed.join("; "),
    ]
      .join(" | ")
      .replace(/^/, "| ")
      .concat(" |"),
  );
}
