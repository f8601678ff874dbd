/**
 * Session start with the Docker driver on a real Engine API (Podman's, started here by
 * scripts/podman-engine.ts): a control plane, a relay and one Docker agent process
 * (PLATFORM=docker, the desktop-demo image). Each session is timed from the CreateSession call
 * until WatchSessions reports RUNNING; sequential starts, then rounds of concurrent ones, every
 * session stopped (and seen STOPPED) before the next start or round.
 *
 * Per-hop breakdown from the agent's own "desktop started" log line: **create** = network
 * (+ volume) + container create, **start** = container start, **VNC ready** = start → the
 * published port answers RFB (**banner**) and then the image's health check, run through exec,
 * passes (**health check**; docker-session-ready.ts).
 *
 *   node --import tsx bench/docker/session-start.ts [--runs 50] [--concurrent 10] [--rounds 3]
 */
import { loadavg } from "node:os";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { startKubeSystem } from "../../e2e/kube-system.ts";
import { startPodmanEngine } from "../../scripts/podman-engine.ts";
import { pct, wall, watchStates } from "../kubernetes/kube-bench-kit.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const RUNS = Number(arg("runs", "50"));
const CONCURRENT = Number(arg("concurrent", "10"));
const ROUNDS = Number(arg("rounds", "3"));
const WARMUP = 2;
const line = (name: string, xs: number[]) =>
  `  ${name.padEnd(26)} n=${xs.length} p50=${pct(xs, 50).toFixed(0)} ms p95=${pct(xs, 95).toFixed(0)} ms max=${Math.max(...xs).toFixed(0)} ms`;

interface Hops {
  createMs: number;
  startMs: number;
  readyMs: number;
  bannerMs: number;
}
const hops = new Map<string, Hops>();

await using engine = await startPodmanEngine();
await using sys = await startKubeSystem({
  platform: "docker",
  dockerHost: engine.dockerHost,
  agentEnv: { MAX_SESSIONS: "100", MAX_CPU: "64", MAX_MEMORY: "256Gi", LOG_LEVEL: "info" },
  onLog: (name, l) => {
    if (!name.startsWith("agent") || !l.includes('"desktop started"')) return;
    try {
      const j = JSON.parse(l) as Hops & { sessionId: string };
      hops.set(j.sessionId, j);
    } catch {}
  },
});
const watch = watchStates(sys);
try {
  const tpl = await sys.template({ cpuMillis: 250n, memoryBytes: 256n << 20n });
  const start = async () => {
    const t0 = wall();
    const { session } = await sys.sessions.createSession({ template: tpl }, { headers: sys.auth });
    const accepted = wall() - t0;
    const id = session?.id ?? "";
    const running = (await watch.until(id, SessionState.RUNNING)) - t0;
    return { id, accepted, running };
  };
  const stop = async (ids: string[]) => {
    await Promise.all(ids.map((id) => sys.sessions.stopSession({ id }, { headers: sys.auth })));
    await Promise.all(ids.map((id) => watch.until(id, SessionState.STOPPED)));
  };
  type R = Awaited<ReturnType<typeof start>>;
  const report = (title: string, rs: R[]) => {
    const h = rs.map((r) => hops.get(r.id)).filter((x): x is Hops => x !== undefined);
    process.stdout.write(`${title}\n`);
    process.stdout.write(
      `${line(
        "API → RUNNING",
        rs.map((r) => r.running),
      )}\n`,
    );
    process.stdout.write(
      `${line(
        "CreateSession accepted",
        rs.map((r) => r.accepted),
      )}\n`,
    );
    process.stdout.write(
      `${line(
        "driver: create",
        h.map((x) => x.createMs),
      )}\n`,
    );
    process.stdout.write(
      `${line(
        "driver: start",
        h.map((x) => x.startMs),
      )}\n`,
    );
    process.stdout.write(
      `${line(
        "driver: VNC ready",
        h.map((x) => x.readyMs),
      )}\n`,
    );
    process.stdout.write(
      `${line(
        "  of which: RFB banner",
        h.map((x) => x.bannerMs),
      )}\n`,
    );
    process.stdout.write(
      `${line(
        "  of which: health check",
        h.map((x) => x.readyMs - x.bannerMs),
      )}\n`,
    );
    process.stdout.write(
      `${line(
        "driver total",
        h.map((x) => x.createMs + x.startMs + x.readyMs),
      )}\n`,
    );
  };
  for (let i = 0; i < WARMUP; i++) {
    const r = await start();
    await stop([r.id]);
  }
  const load0 = loadavg()[0] ?? 0;
  const seq: R[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await start();
    seq.push(r);
    await stop([r.id]);
  }
  report(
    `docker, ${RUNS} sequential (load ${load0.toFixed(1)}→${(loadavg()[0] ?? 0).toFixed(1)})`,
    seq,
  );
  const conc: R[] = [];
  const load1 = loadavg()[0] ?? 0;
  for (let round = 0; round < ROUNDS; round++) {
    const rs = await Promise.all(Array.from({ length: CONCURRENT }, () => start()));
    conc.push(...rs);
    await stop(rs.map((r) => r.id));
  }
  report(
    `docker, ${ROUNDS} rounds of ${CONCURRENT} concurrent (load ${load1.toFixed(1)}→${(loadavg()[0] ?? 0).toFixed(1)})`,
    conc,
  );
} catch (err) {
  process.stderr.write(`--- system logs ---\n${sys.logs()}\n`);
  throw err;
} finally {
  await watch.close();
}
