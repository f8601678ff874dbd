/**
 * One Kubernetes agent holding 1,000 sessions on the test bed: the agent process's memory and
 * CPU (from /proc) idle, while 1,000 sessions start, while they run, and while they stop, and
 * the API requests it makes per session (counted by the API server's audit log, since the
 * agent acts as its own ServiceAccount). The watches (one for Deployments, one for pods) are
 * shared by all sessions, so they are reported apart from the per-session requests.
 *
 *   node --import tsx bench/kubernetes/thousand-sessions.ts [--sessions 1000] [--batch 50] [--idle 60]
 */
import { loadavg } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import {
  auditCount,
  auditDelta,
  procStats,
  startKubeBench,
  wall,
  watchStates,
} from "./kube-bench-kit.ts";

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? def) : def;
};
const N = Number(arg("sessions", "1000"));
const BATCH = Number(arg("batch", "50"));
const IDLE_S = Number(arg("idle", "60"));
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const out = (s: string) => process.stdout.write(`${s}\n`);

const bench = await startKubeBench({
  agentEnv: {
    MAX_SESSIONS: String(N + 100),
    MAX_CPU: "64",
    MAX_MEMORY: "256Gi",
    LOG_LEVEL: "warn",
  },
});
const { sys, bed } = bench;
const watch = watchStates(sys);
try {
  const pid = sys.replicas[0]?.child.pid ?? 0;
  const tpl = await sys.template({ cpuMillis: 10n, memoryBytes: 16n << 20n });
  await sleep(5000);
  const idle0 = procStats(pid);
  out(`sessions=${N}, load ${(loadavg()[0] ?? 0).toFixed(2)}`);
  out(`agent idle, no sessions: RSS ${mib(idle0.rssBytes)}`);

  // Start N sessions, BATCH CreateSession calls at a time, until every one runs.
  const before = await auditCount(bed, bench.serviceAccount);
  const t0 = wall();
  const ids: string[] = [];
  for (let i = 0; i < N; i += BATCH) {
    const made = await Promise.all(
      Array.from({ length: Math.min(BATCH, N - i) }, async () => {
        const { session } = await sys.sessions.createSession(
          { template: tpl },
          { headers: sys.auth },
        );
        return session?.id ?? "";
      }),
    );
    ids.push(...made);
  }
  await Promise.all(ids.map((id) => watch.until(id, SessionState.RUNNING, 600_000)));
  const ramp = wall() - t0;
  const afterStart = procStats(pid);
  const started = auditDelta(await auditCount(bed, bench.serviceAccount), before);
  out(
    `start ${N}: all RUNNING in ${(ramp / 1000).toFixed(1)} s; agent CPU ${((afterStart.cpuMs - idle0.cpuMs) / 1000).toFixed(1)} s (${(((afterStart.cpuMs - idle0.cpuMs) / ramp) * 100).toFixed(0)} % of a core), RSS ${mib(afterStart.rssBytes)}`,
  );
  out(
    `  API requests per start: ${(started.total / N).toFixed(2)} (${Object.entries(started.byVerb)
      .map(([v, n]) => `${v} ${(n / N).toFixed(2)}`)
      .join(", ")})`,
  );

  // Hold them: heartbeats, watch bookmarks, nothing else should cost anything.
  const h0 = procStats(pid);
  const a0 = await auditCount(bed, bench.serviceAccount);
  const i0 = wall();
  await sleep(IDLE_S * 1000);
  const h1 = procStats(pid);
  const held = auditDelta(await auditCount(bed, bench.serviceAccount), a0);
  out(
    `hold ${N} for ${IDLE_S} s: agent CPU ${(((h1.cpuMs - h0.cpuMs) / (wall() - i0)) * 100).toFixed(1)} % of a core, RSS ${mib(h1.rssBytes)}; API requests meanwhile: ${held.total} (${JSON.stringify(held.byVerb)})`,
  );

  // Stop them all.
  const s0 = procStats(pid);
  const b1 = await auditCount(bed, bench.serviceAccount);
  const t1 = wall();
  for (let i = 0; i < N; i += BATCH) {
    await Promise.all(
      ids.slice(i, i + BATCH).map((id) => sys.sessions.stopSession({ id }, { headers: sys.auth })),
    );
  }
  await Promise.all(ids.map((id) => watch.until(id, SessionState.STOPPED, 600_000)));
  const stopTook = wall() - t1;
  const s1 = procStats(pid);
  const stopped = auditDelta(await auditCount(bed, bench.serviceAccount), b1);
  out(
    `stop ${N}: all STOPPED in ${(stopTook / 1000).toFixed(1)} s; agent CPU ${((s1.cpuMs - s0.cpuMs) / 1000).toFixed(1)} s, RSS ${mib(s1.rssBytes)}`,
  );
  out(
    `  API requests per stop: ${(stopped.total / N).toFixed(2)} (${Object.entries(stopped.byVerb)
      .map(([v, n]) => `${v} ${(n / N).toFixed(2)}`)
      .join(", ")})`,
  );
} finally {
  await watch.close();
  await bench.stop();
}
