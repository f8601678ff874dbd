/**
 * Command round trip through the gateway (DESIGN.md §9: p99 < 10 ms at
 * 1,000 commands/s across pods). Two gateway pods ("pod-a", "pod-b"), each its own process
 * with a RedisAgentHub on one real Redis and the Postgres outbox on one real Postgres; the
 * simulated agents, in their own process(es), hold real HTTP/2 gRPC streams to pod-b. A
 * command is what the API does after commit, run inside the issuing pod: INSERT the outbox
 * row, then notify the gateway (pod-b: same pod; pod-a: across pods through Redis). Measured:
 * INSERT start → the agent receives the command (it acks at once), at a steady open-loop
 * rate, on the machine-wide monotonic clock. This process only orchestrates and counts.
 *
 * Each run also prints the latency split into stages (INSERT, poke reaching pod-b, wait for a
 * claim, the claim statement, claim end → agent receipt), what the slowest 1 % spent in each,
 * and pod-b's statement times, event-loop delay and GC pauses.
 *
 * With ROUND_TRIP_PODS=3 a third pod ("pod-c") issues half of the commands beside pod-a, so
 * the last run spreads the API side over two pods and the streams over a third, as three API
 * pods behind a load balancer would (its stage split is not printed: two issuers' traces).
 *
 *   node --import tsx bench/gateway/round-trip.ts [rate=1000] [seconds=10] [agents=50] [agent_procs=1]
 *   env: BENCH_NODE_ARGS (node flags for the children), ROUND_TRIP_CLAIMS (claims in flight),
 *        ROUND_TRIP_PODS (2 or 3)
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { createTestDatabase } from "../../control-plane/src/store/test-database.ts";
import { startPostgres, startRedis } from "../../scripts/services.ts";
import type { ChildReport } from "./round-trip-ipc.ts";

const [rate = 1000, seconds = 10, nAgents = 50, agentProcs = 1] = process.argv.slice(2).map(Number);

await using pgSvc = await startPostgres();
await using redis = await startRedis();
process.env.TEST_POSTGRES_URL = pgSvc.url;
await using tdb = await createTestDatabase({ poolSize: 2 });

const children: ChildProcess[] = [];
function spawnChild(file: string, args: string[]): ChildProcess {
  const c = fork(new URL(file, import.meta.url).pathname, args, {
    // BENCH_NODE_ARGS: extra node flags for the children (e.g. --cpu-prof when profiling).
    execArgv: [
      "--import",
      "tsx",
      ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
    ],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.push(c);
  return c;
}
function next<T extends ChildReport["type"]>(
  c: ChildProcess,
  type: T,
): Promise<Extract<ChildReport, { type: T }>> {
  return new Promise((resolve) => {
    const on = (m: ChildReport) => {
      if (m.type !== type) return;
      c.off("message", on);
      resolve(m as Extract<ChildReport, { type: T }>);
    };
    c.on("message", on);
  });
}
const CLK = 100; // USER_HZ
const cpuS = (c: ChildProcess) => {
  const f = readFileSync(`/proc/${c.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) / CLK;
};

const podA = spawnChild("./round-trip-pod.ts", ["pod-a", tdb.url, redis.url, "0"]);
const podB = spawnChild("./round-trip-pod.ts", ["pod-b", tdb.url, redis.url, "1"]);
const podC =
  process.env.ROUND_TRIP_PODS === "3"
    ? spawnChild("./round-trip-pod.ts", ["pod-c", tdb.url, redis.url, "0"])
    : undefined;
await next(podA, "ready");
if (podC) await next(podC, "ready");
const url = (await next(podB, "ready")).url ?? "";
const per = Math.ceil(nAgents / agentProcs);
const agentKids: ChildProcess[] = [];
for (let first = 0; first < nAgents; first += per) {
  const n = Math.min(per, nAgents - first);
  agentKids.push(spawnChild("./round-trip-agents.ts", [url, String(n), String(first)]));
}
await Promise.all(agentKids.map((k) => next(k, "ready")));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function stats(c: ChildProcess) {
  const p = next(c, "stats");
  c.send({ type: "stats" });
  return p;
}

async function traceOf(c: ChildProcess) {
  const p = next(c, "trace");
  c.send({ type: "trace" });
  return p;
}

const fmt = (xs: number[]) =>
  xs.length === 0
    ? "n/a"
    : `p50 ${pct(xs, 50).toFixed(2)} p99 ${pct(xs, 99).toFixed(2)} max ${Math.max(...xs).toFixed(1)}`;

/**
 * Splits each command's latency into stages: INSERT, poke reaching pod-b (same pod: the local
 * call; across pods: Redis), waiting for a claim to start, the claim statement, and claim end
 * → agent receipt (proto decode, stream write, HTTP/2, the agents process).
 */
function stages(
  sentAt: Map<string, number>,
  agentOf: Map<string, string>,
  recvAt: Map<string, number>,
  issuer: Extract<ChildReport, { type: "trace" }>,
  holder: Extract<ChildReport, { type: "trace" }>,
): void {
  const claimOf = new Map<string, { start: number; end: number }>();
  for (const c of holder.trace.claims) for (const id of c.ids) claimOf.set(id, c);
  const st: Record<string, number[]> = { insert: [], notify: [], wait: [], claim: [], deliver: [] };
  for (const [id, t0] of sentAt) {
    const t1 = issuer.trace.insertDone[id];
    const c = claimOf.get(id);
    const t5 = recvAt.get(id);
    if (t1 === undefined || !c || t5 === undefined) continue;
    const pokes = holder.trace.pokes[agentOf.get(id) ?? ""] ?? [];
    const t2 = pokes.find((t) => t >= t1);
    st.insert?.push(t1 - t0);
    // A poke after the claim started (the rows were claimed by an earlier claim): count the
    // whole gap as notify, so the stages still add up to the total.
    const tp = t2 !== undefined && t2 <= c.start ? t2 : c.start;
    st.notify?.push(tp - t1);
    st.wait?.push(c.start - tp);
    st.claim?.push(c.end - c.start);
    st.deliver?.push(t5 - c.end);
  }
  // Where the slowest 1 % spend their time: mean per stage over commands above the p99.
  const tot =
    st.insert?.map((_, i) => Object.values(st).reduce((a, xs) => a + (xs[i] ?? 0), 0)) ?? [];
  const cut = pct(tot, 99);
  const slow = tot.flatMap((t, i) => (t >= cut ? [i] : []));
  const mean = (xs: number[]) =>
    slow.reduce((a, i) => a + (xs[i] ?? 0), 0) / Math.max(1, slow.length);
  console.log(
    `  slowest 1 % (${slow.length}, >= ${cut.toFixed(1)} ms), mean ms: ${Object.entries(st)
      .map(([k, xs]) => `${k} ${mean(xs).toFixed(1)}`)
      .join(", ")}`,
  );
  for (const [k, xs] of Object.entries(st))
    console.log(`  stage ${k.padEnd(7)} ${fmt(xs)} (n ${xs.length})`);
  const claims = holder.trace.claims;
  console.log(
    `  pod-b claims ${claims.length}: ${fmt(claims.map((c) => c.end - c.start))}, rows/claim ${(claims.reduce((a, c) => a + c.ids.length, 0) / Math.max(1, claims.length)).toFixed(1)}; acks ${holder.trace.acks.length}: ${fmt(holder.trace.acks.map((a) => a.end - a.start))}`,
  );
  const gc = holder.trace.gc.map((g) => g.ms);
  console.log(
    `  pod-b event-loop delay p50 ${holder.eld.p50.toFixed(1)} p99 ${holder.eld.p99.toFixed(1)} max ${holder.eld.max.toFixed(1)} ms; GC ${gc.length} pauses, total ${gc.reduce((a, b) => a + b, 0).toFixed(0)} ms, ${fmt(gc)}`,
  );
  if (issuer !== holder)
    console.log(
      `  pod-a event-loop delay p50 ${issuer.eld.p50.toFixed(1)} p99 ${issuer.eld.p99.toFixed(1)} max ${issuer.eld.max.toFixed(1)} ms; GC total ${issuer.trace.gc.reduce((a, b) => a + b.ms, 0).toFixed(0)} ms`,
    );
}

let runId = 0;
async function run(label: string, ...vias: ChildProcess[]) {
  const id = ++runId;
  const total = rate * seconds;
  const via = vias[0] as ChildProcess;
  const cpu0 = [podA, podB, ...agentKids].map(cpuS);
  const stats0 = await stats(podB);
  await Promise.all([traceOf(podA), traceOf(podB)]);
  const t0 = performance.now();
  const each = rate / vias.length;
  for (const v of vias) v.send({ type: "run", runId: id, rate: each, seconds, agents: nAgents });
  const sents = await Promise.all(vias.map((v) => next(v, "sent")));
  const sent = { ids: sents.flatMap((x) => x.ids), at: sents.flatMap((x) => x.at) };
  const sentAt = new Map(sent.ids.map((x, i) => [x, sent.at[i] as number]));
  const latencies: number[] = [];
  const recvAt = new Map<string, number>();
  const agentOf = new Map(sent.ids.map((x, i) => [x, `bench-${i % nAgents}`]));
  const deadline = performance.now() + 10_000;
  while (latencies.length < total && performance.now() < deadline) {
    const got = await Promise.all(
      agentKids.map((k) => {
        const p = next(k, "received");
        k.send({ type: "collect" });
        return p;
      }),
    );
    for (const g of got) {
      g.ids.forEach((x, i) => {
        const s = sentAt.get(x);
        if (s === undefined) return;
        latencies.push((g.at[i] as number) - s);
        recvAt.set(x, g.at[i] as number);
      });
    }
    if (latencies.length < total) await new Promise((r) => setTimeout(r, 100));
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu = [podA, podB, ...agentKids].map((c, i) => cpuS(c) - (cpu0[i] as number));
  const share = (x: number) => `${((x / wallS) * 100).toFixed(0)} %`;
  const stats1 = await stats(podB);
  const perCmd = (n: number) => (n / total).toFixed(3);
  console.log(
    `${label} [load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(
        " ",
      )}]: ${latencies.length}/${total} delivered, offered ${rate}/s for ${seconds}s; p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(1)} ms; CPU pod-a ${share(cpu[0] ?? 0)}, pod-b ${share(cpu[1] ?? 0)}, agents ${share(cpu.slice(2).reduce((x, y) => x + y, 0))}; pod-b claims/command ${perCmd(stats1.claims - stats0.claims)}, ack writes/command ${perCmd(stats1.acks - stats0.acks)}`,
  );
  const [ta, tb] = await Promise.all([traceOf(podA), traceOf(podB)]);
  if (vias.length === 1) stages(sentAt, agentOf, recvAt, via === podA ? ta : tb, tb);
}

await run("warm-up (same pod)", podB);
await run("across pods (pod-a → Redis → pod-b)", podA);
await run("same pod (pod-b → its agents)", podB);
await run("across pods (pod-a → Redis → pod-b)", podA);
if (podC) await run("three pods (pod-a + pod-c → Redis → pod-b)", podA, podC);

// Agents first, so the pods do not log their streams breaking as errors.
const stop = (c: ChildProcess) => {
  const exited = new Promise((r) => c.once("exit", r));
  c.send({ type: "stop" });
  return exited;
};
await Promise.all(agentKids.map(stop));
await Promise.all([podA, podB, ...(podC ? [podC] : [])].map(stop));
