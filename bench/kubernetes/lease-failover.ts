/**
 * Kubernetes Lease failover with real agent processes: three replicas of one agent
 * (HA_BACKEND=kubernetes, acting as the agent's ServiceAccount) and the whole system on a test
 * bed of its own. Each trial kills the leader — SIGKILL (a crash: the Lease is not released) or
 * SIGTERM (a graceful stop: the Lease is released) — at a random point of its renew cycle, and
 * reads from the replicas' own log lines (JSON, millisecond times) when another replica
 * (a) became leader (took the Lease) and (b) was connected to the control plane (Welcome
 * received: it holds the stream and runs commands). The killed replica is started again, as
 * a new pod would be, before the next trial.
 *
 *   node --import tsx bench/kubernetes/lease-failover.ts [--trials 20] [--signals SIGKILL,SIGTERM]
 *
 * Timing defaults to the agent's for the Lease backend (15 s / 10 s / 2 s); set LEASE_DURATION,
 * RENEW_DEADLINE and RETRY_PERIOD in the environment to try others.
 */
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { pct, startKubeBench, wall } from "./kube-bench-kit.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const TRIALS = Number(arg("trials", "20"));
const SIGNALS = arg("signals", "SIGKILL,SIGTERM").split(",") as NodeJS.Signals[];
const timing: Record<string, string> = {};
for (const k of ["LEASE_DURATION", "RENEW_DEADLINE", "RETRY_PERIOD"]) {
  const v = process.env[k];
  if (v) timing[k] = v;
}
const retryMs = (() => {
  const v = timing.RETRY_PERIOD ?? "2s";
  return v.endsWith("ms") ? Number(v.slice(0, -2)) : Number(v.replace(/s$/, "")) * 1000;
})();

/** Log events of each replica: [wall ms, message]. */
const events = new Map<string, [number, string][]>();
const onLog = (name: string, line: string) => {
  if (!name.startsWith("agent-") || !line.startsWith("{")) return;
  try {
    const j = JSON.parse(line) as { time?: string; msg?: string };
    if (j.msg === "became leader" || j.msg === "connected") {
      const list = events.get(name) ?? [];
      list.push([Date.parse(j.time ?? ""), j.msg]);
      events.set(name, list);
    }
  } catch {
    // not a log line
  }
};
const firstAfter = (t: number, msg: string, except: string) => {
  let best = Number.POSITIVE_INFINITY;
  for (const [name, list] of events) {
    if (name === except) continue;
    for (const [at, m] of list) if (m === msg && at >= t && at < best) best = at;
  }
  return best;
};

const bench = await startKubeBench({ replicas: 3, agentEnv: { ...timing }, onLog });
const { sys } = bench;
const results = new Map<string, { leader: number[]; acting: number[] }>();
try {
  process.stdout.write(
    `Kubernetes Lease failover, 3 replicas, timing ${JSON.stringify(timing)} (defaults 15s/10s/2s), load ${(loadavg()[0] ?? 0).toFixed(2)}\n`,
  );
  for (const signal of SIGNALS) {
    const r = { leader: [] as number[], acting: [] as number[] };
    results.set(signal, r);
    for (let trial = 0; trial < TRIALS; trial++) {
      let leader = await sys.leader();
      const until = Date.now() + 120_000;
      while (!leader && Date.now() < until) {
        await sleep(50);
        leader = await sys.leader();
      }
      if (!leader) throw new Error("no leader within 2 minutes");
      // A crash lands anywhere in the renew cycle.
      await sleep(Math.random() * 2 * retryMs);
      const killedAt = wall();
      await sys.kill(leader.index, signal);
      const name = `agent-${leader.index}`;
      let took = Number.POSITIVE_INFINITY;
      let acted = Number.POSITIVE_INFINITY;
      const deadline = Date.now() + 120_000;
      while (!Number.isFinite(acted) && Date.now() < deadline) {
        await sleep(20);
        took = firstAfter(killedAt, "became leader", name);
        acted = firstAfter(killedAt, "connected", name);
      }
      if (!Number.isFinite(acted)) throw new Error(`trial ${trial}: no other replica took over`);
      r.leader.push(took - killedAt);
      r.acting.push(acted - killedAt);
      process.stdout.write(
        `${signal} trial ${trial + 1}: leader after ${(took - killedAt).toFixed(0)} ms, acting after ${(acted - killedAt).toFixed(0)} ms\n`,
      );
      await sys.restart(leader.index);
      // The new replica joins as a follower; give it a moment to start campaigning.
      await sleep(3000);
    }
  }
  for (const [signal, r] of results) {
    const f = (xs: number[]) =>
      `p50 ${pct(xs, 50).toFixed(0)} ms, p95 ${pct(xs, 95).toFixed(0)} ms, min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)}`;
    process.stdout.write(
      `${signal}: kill → new leader: ${f(r.leader)}; kill → acting (stream held): ${f(r.acting)}\n`,
    );
  }
} finally {
  await bench.stop();
}
