/**
 * Agent fan-in (DESIGN.md §9: 10,000 streams with heartbeats every 10 s,
 * < 1 GiB RSS, in one control-plane process). One real control-plane process (main.ts, memory
 * hub, real Postgres); simulated agents in several client processes, each agent one real gRPC
 * stream, many streams per HTTP/2 connection. For each step of the ramp: time to connect
 * (enrolment included), then a steady window measuring the server's RSS and CPU, then its
 * JS heap before and after a forced GC (through the inspector).
 *
 *   node --import tsx bench/gateway/fan-in.ts [steps=1000,5000,10000] [window_s=20] [clients=4]
 *   FANIN_SERVER=tsx|bundle   run main.ts through tsx (the README's way) or from a bundle
 *   FANIN_NODE_ARGS="..."     extra node/V8 flags for the server (e.g. --max-semi-space-size=4)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { startPostgres, startRedis } from "../../scripts/services.ts";
import { type ServerMode, startMeasuredServer } from "./fan-in-server.ts";

const steps = (process.argv[2] ?? "1000,5000,10000").split(",").map(Number);
const windowS = Number(process.argv[3] ?? 20);
const nClients = Number(process.argv[4] ?? 4);
const mode = (process.env.FANIN_SERVER ?? "tsx") as ServerMode;
const nodeArgs = (process.env.FANIN_NODE_ARGS ?? "").split(" ").filter(Boolean);

await using pgSvc = await startPostgres();
await using redis = await startRedis();
// Redis as in the first measurement (session bus, relay ring); the hub stays in memory.
await using server = await startMeasuredServer({
  postgresUrl: pgSvc.url,
  mode,
  nodeArgs,
  env: { REDIS_URL: redis.url },
});

const connected = async () => {
  const h = (await (await fetch(`${server.url}/health`)).json()) as {
    agents: { connected: number };
  };
  return h.agents.connected;
};
const mem = async () => {
  const before = await server.memory(false);
  const after = await server.memory(true);
  const f = (m: Record<string, number>) =>
    `${(m.heapUsed ?? 0).toFixed(0)}/${(m.heapTotal ?? 0).toFixed(0)}`;
  return `${f(before)} → ${f(after)} MiB, external ${(after.external ?? 0).toFixed(0)} MiB, RSS after GC ${server.rssMiB().toFixed(0)} MiB`;
};

const clients: ChildProcess[] = [];
let started = 0;
console.log(
  `server: ${mode} ${nodeArgs.join(" ")}; ulimit -n here: ${readFileSync("/proc/self/limits", "utf8").match(/Max open files\s+(\d+)/)?.[1]}`,
);
console.log(`idle: RSS ${server.rssMiB().toFixed(0)} MiB; heap used/total ${await mem()}`);
console.log(
  "| agents | connect time | RSS | CPU (steady, % of one core) | heap used/total → after GC |",
);
console.log("|---|---|---|---|---|");
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
          server.url,
          server.bootstrapToken,
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
  const c0 = server.cpuSeconds();
  const w0 = Date.now();
  await new Promise((r) => setTimeout(r, windowS * 1000));
  const cpu = ((server.cpuSeconds() - c0) / ((Date.now() - w0) / 1000)) * 100;
  const held = await connected();
  const rss = server.rssMiB();
  console.log(
    `| ${held.toLocaleString("en")} of ${target.toLocaleString("en")} | ${connectS.toFixed(1)} s | ${rss.toFixed(0)} MiB | ${cpu.toFixed(1)} % | ${await mem()} |`,
  );
  if (n < target) break;
}
if (process.env.FANIN_SNAPSHOT) {
  // Needs FANIN_NODE_ARGS=--heapsnapshot-signal=SIGUSR2; the file lands in the repo root.
  await server.memory(true);
  process.kill(server.pid, "SIGUSR2");
  await new Promise((r) => setTimeout(r, Number(process.env.FANIN_SNAPSHOT) * 1000));
}
for (const c of clients) c.kill("SIGTERM");
await Promise.all(
  clients.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))),
);
