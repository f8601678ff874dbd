/**
 * Command round trip through the gateway (issue 4, bench b; DESIGN.md §9: p99 < 10 ms at
 * 1,000 commands/s across pods). Two gateway pods ("pod-a", "pod-b"), each its own process
 * with a RedisAgentHub on one real Redis and the Postgres outbox on one real Postgres; the
 * simulated agents, in their own process(es), hold real HTTP/2 gRPC streams to pod-b. A
 * command is what the API does after commit, run inside the issuing pod: INSERT the outbox
 * row, then notify the gateway (pod-b: same pod; pod-a: across pods through Redis). Measured:
 * INSERT start → the agent receives the command (it acks at once), at a steady open-loop
 * rate, on the machine-wide monotonic clock. This process only orchestrates and counts.
 *
 *   node --import tsx bench/gateway/round-trip.ts [rate=1000] [seconds=10] [agents=50] [agent_procs=1]
 */
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
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
await next(podA, "ready");
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

let runId = 0;
async function run(label: string, via: ChildProcess) {
  const id = ++runId;
  const total = rate * seconds;
  const cpu0 = [podA, podB, ...agentKids].map(cpuS);
  const stats0 = await stats(podB);
  const t0 = performance.now();
  via.send({ type: "run", runId: id, rate, seconds, agents: nAgents });
  const sent = await next(via, "sent");
  const sentAt = new Map(sent.ids.map((x, i) => [x, sent.at[i] as number]));
  const latencies: number[] = [];
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
        if (s !== undefined) latencies.push((g.at[i] as number) - s);
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
    `${label}: ${latencies.length}/${total} delivered, offered ${rate}/s for ${seconds}s; p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms, max ${Math.max(...latencies).toFixed(1)} ms; CPU pod-a ${share(cpu[0] ?? 0)}, pod-b ${share(cpu[1] ?? 0)}, agents ${share(cpu.slice(2).reduce((x, y) => x + y, 0))}; pod-b claims/command ${perCmd(stats1.claims - stats0.claims)}, ack writes/command ${perCmd(stats1.acks - stats0.acks)}`,
  );
}

await run("warm-up (same pod)", podB);
await run("across pods (pod-a → Redis → pod-b)", podA);
await run("same pod (pod-b → its agents)", podB);
await run("across pods (pod-a → Redis → pod-b)", podA);

// Agents first, so the pods do not log their streams breaking as errors.
const stop = (c: ChildProcess) => {
  const exited = new Promise((r) => c.once("exit", r));
  c.send({ type: "stop" });
  return exited;
};
await Promise.all(agentKids.map(stop));
await Promise.all([podA, podB].map(stop));
