/**
 * Agent fan-in (issue 4, bench a; DESIGN.md §9: 10,000 streams with heartbeats every 10 s,
 * < 1 GiB RSS, in one control-plane process). One real control-plane process (main.ts, memory
 * hub, real Postgres); simulated agents in several client processes, each agent one real gRPC
 * stream, many streams per HTTP/2 connection. For each step of the ramp: time to connect
 * (enrolment included), then a steady window measuring the server's RSS and CPU.
 *
 *   node --import tsx bench/gateway/fan-in.ts [steps=1000,5000,10000] [window_s=20] [clients=4]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { startPodCluster } from "../../e2e/multipod-cluster.ts";
import { startPostgres, startRedis } from "../../scripts/services.ts";

const steps = (process.argv[2] ?? "1000,5000,10000").split(",").map(Number);
const windowS = Number(process.argv[3] ?? 20);
const nClients = Number(process.argv[4] ?? 4);
const CLK = 100; // USER_HZ on Linux

await using pgSvc = await startPostgres();
await using redis = await startRedis();
await using cluster = await startPodCluster({
  n: 1,
  postgresUrl: pgSvc.url,
  redisUrl: redis.url,
  env: { AGENT_HUB_BACKEND: "memory", LOG_LEVEL: "warn" },
});
const pod = cluster.pods[0];
if (!pod?.child.pid) throw new Error("no pod");
const pid = pod.child.pid;

const rssMiB = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) / 1024;
};
const cpuTicks = () => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return Number(f[11]) + Number(f[12]); // utime + stime
};
const connected = async () => {
  const h = (await (await fetch(`${pod.url}/health`)).json()) as { agents: { connected: number } };
  return h.agents.connected;
};

const clients: ChildProcess[] = [];
let started = 0;
console.log(
  `ulimit -n here: ${readFileSync("/proc/self/limits", "utf8").match(/Max open files\s+(\d+)/)?.[1]}`,
);
console.log(`idle server RSS ${rssMiB().toFixed(0)} MiB`);
console.log("| agents | connect time | RSS | CPU (steady, % of one core) |");
console.log("|---|---|---|---|");
for (const target of steps) {
  const add = target - started;
  const t0 = Date.now();
  const per = Math.ceil(add / nClients);
  for (let c = 0; c < nClients; c++) {
    const count = Math.min(per, target - started);
    if (count <= 0) break;
    const conns = Math.max(1, Math.ceil(count / 250));
    clients.push(
      spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "bench/gateway/fan-in-client.ts",
          pod.url,
          cluster.bootstrapToken,
          String(count),
          String(started),
          String(conns),
        ],
        { stdio: ["ignore", "ignore", "inherit"] },
      ),
    );
    started += count;
  }
  let n = await connected();
  while (n < target && Date.now() - t0 < 180_000) {
    await new Promise((r) => setTimeout(r, 500));
    n = await connected();
  }
  const connectS = (Date.now() - t0) / 1000;
  const c0 = cpuTicks();
  const w0 = Date.now();
  await new Promise((r) => setTimeout(r, windowS * 1000));
  const cpu = ((cpuTicks() - c0) / CLK / ((Date.now() - w0) / 1000)) * 100;
  const held = await connected();
  console.log(
    `| ${held.toLocaleString("en")} of ${target.toLocaleString("en")} | ${connectS.toFixed(1)} s | ${rssMiB().toFixed(0)} MiB | ${cpu.toFixed(1)} % |`,
  );
  if (n < target) break;
}
for (const c of clients) c.kill("SIGTERM");
await Promise.all(
  clients.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))),
);
