/**
 * Session start with the Kubernetes driver on the test bed (DESIGN.md §9: API → running,
 * p95 < 1 s, no image pull): the control plane, a relay and one agent process (acting as the
 * ServiceAccount of deploy/kubernetes/agent-rbac.yaml) on a test bed of its own. Each session
 * is timed from the CreateSession call until WatchSessions reports RUNNING.
 *
 * What the figure includes: the API call and scheduling, the outbox and the agent stream, the
 * agent creating a Deployment and Service, the Deployment and ReplicaSet controllers, the
 * scheduler, KWOK marking the pod Ready (no image pull, no container start, no readiness
 * probe), the agent's watch seeing it, and the result back to the watch stream. What a real
 * cluster adds on top: image pull, container start and the readiness probe's first success.
 *
 * Then the same number of starts through the driver alone (in this process, admin identity):
 * Deployment create → pod Ready seen by the informer, the Kubernetes share of the figure.
 *
 *   node --import tsx bench/kubernetes/session-start.ts [--runs 100] [--rate 0] [--warmup 5]
 *
 * --rate N starts N sessions per second open-loop (timed from each one's due time) instead of
 * one after another.
 */
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { silentLogger } from "@streamspace/common/log";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { makeTemplate } from "../../agents/src/drivers/driver-cases.ts";
import { KubernetesDriver } from "../../agents/src/drivers/kubernetes/kubernetes-driver.ts";
import { loadKubeConfig } from "../../agents/src/ha/kubernetes-client.ts";
import {
  auditCount,
  auditDelta,
  pct,
  startKubeBench,
  wall,
  watchStates,
} from "./kube-bench-kit.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const RUNS = Number(arg("runs", "100"));
const RATE = Number(arg("rate", "0"));
const WARMUP = Number(arg("warmup", "5"));
const line = (name: string, xs: number[]) =>
  `${name.padEnd(34)} n=${xs.length} p50=${pct(xs, 50).toFixed(0)} ms p95=${pct(xs, 95).toFixed(0)} ms max=${Math.max(...xs).toFixed(0)} ms`;

const bench = await startKubeBench({
  agentEnv: { MAX_CPU: "64", MAX_MEMORY: "256Gi", LOG_LEVEL: "warn" },
});
const { sys, bed, ns } = bench;
const watch = watchStates(sys);
try {
  const tpl = await sys.template({ cpuMillis: 100n, memoryBytes: 64n << 20n });
  const start = async (due: number) => {
    const { session } = await sys.sessions.createSession({ template: tpl }, { headers: sys.auth });
    const accepted = wall() - due;
    const id = session?.id ?? "";
    const running = (await watch.until(id, SessionState.RUNNING)) - due;
    return { id, accepted, running };
  };
  for (let i = 0; i < WARMUP; i++) await start(wall());
  const before = await auditCount(bed, bench.serviceAccount);
  const load0 = loadavg()[0] ?? 0;
  const results: { id: string; accepted: number; running: number }[] = [];
  const t0 = wall();
  if (RATE > 0) {
    const all: Promise<void>[] = [];
    for (let i = 0; i < RUNS; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - wall();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      all.push(start(due).then((r) => void results.push(r)));
    }
    await Promise.all(all);
  } else {
    for (let i = 0; i < RUNS; i++) results.push(await start(wall()));
  }
  const took = wall() - t0;
  const requests = auditDelta(await auditCount(bed, bench.serviceAccount), before);
  process.stdout.write(
    `kubernetes session start, ${RATE > 0 ? `${RATE}/s open loop` : "one at a time"}, ${RUNS} sessions in ${(took / 1000).toFixed(1)} s, load ${load0.toFixed(2)}→${(loadavg()[0] ?? 0).toFixed(2)}\n`,
  );
  process.stdout.write(
    `${line(
      "CreateSession accepted",
      results.map((r) => r.accepted),
    )}\n`,
  );
  process.stdout.write(
    `${line(
      "API → RUNNING (watch)",
      results.map((r) => r.running),
    )}\n`,
  );
  process.stdout.write(
    `agent API requests per start: ${(requests.total / RUNS).toFixed(2)} (${Object.entries(
      requests.byVerb,
    )
      .map(([v, n]) => `${v} ${(n / RUNS).toFixed(2)}`)
      .join(", ")})\n`,
  );
  // Stop them (untimed here) so the driver-only phase starts on an emptier namespace.
  await Promise.all(
    results.map((r) => sys.sessions.stopSession({ id: r.id }, { headers: sys.auth })),
  );
  await Promise.all(results.map((r) => watch.until(r.id, SessionState.STOPPED)));

  const driver = await KubernetesDriver.open({
    namespace: ns,
    agentId: "bench-driver",
    log: silentLogger,
    kubeConfig: loadKubeConfig(bed.kubeconfig),
  });
  try {
    const template = makeTemplate("streamspace.test/desktop:1");
    const times: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const id = randomUUID();
      const t = wall();
      await driver.start(
        { sessionId: id, ownerId: "bench", template },
        AbortSignal.timeout(60_000),
      );
      if (i >= WARMUP) times.push(wall() - t);
    }
    process.stdout.write(`${line("driver alone: create → pod Ready", times)}\n`);
    await driver.stopAll("bench over", AbortSignal.timeout(120_000));
  } finally {
    await driver.close();
  }
} finally {
  await watch.close();
  await bench.stop();
}
