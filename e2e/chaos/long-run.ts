/**
 * The long form of the chaos suite: the short form's world (more agents) and every fault,
 * including a 30-second Postgres outage and an outbox that fills while an agent is away,
 * repeated in cycles for at least CHAOS_MINUTES (default 30). Prints each fault's report as a
 * JSON line, then a summary (medians of every recovery figure, all violations) that goes into
 * bench/RESULTS.md. Exit status 1 when any invariant was violated.
 *
 *   node --import tsx e2e/chaos/long-run.ts            # 30 minutes, 40 scripted + 3 real agents
 *   CHAOS_MINUTES=5 CHAOS_SIMS=20 node --import tsx e2e/chaos/long-run.ts
 */
import { startChaosWorld } from "./chaos-cluster.ts";
import {
  type Fault,
  type FaultReport,
  fillOutboxWhileAway,
  killControlPod,
  killRealAgent,
  killRelay,
  partitionPod,
  restartPostgres,
  restartRedis,
  stopAgentPastTimeout,
} from "./chaos-faults.ts";
import { runFaults, startDesktops } from "./chaos-run.ts";

const minutes = Number(process.env.CHAOS_MINUTES ?? 30);
const sims = Number(process.env.CHAOS_SIMS ?? 40);
const reals = Number(process.env.CHAOS_REALS ?? 3);
const CYCLE: Fault[] = [
  killControlPod,
  killRelay,
  killRealAgent,
  stopAgentPastTimeout,
  restartRedis,
  restartPostgres(0),
  restartPostgres(30_000),
  fillOutboxWhileAway,
  partitionPod,
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : undefined;
};

// Client-side rejections left by connect-node after a pod vanished: counted, never fatal.
let stray = 0;
const strayError = (r: unknown) => {
  const text = String(r);
  if (!/ECONNREFUSED|ECONNRESET|unavailable/i.test(text)) throw r;
  stray++;
  console.error(`stray client error: ${text.slice(0, 200)}`);
};
process.on("unhandledRejection", strayError);
process.on("uncaughtException", strayError);

const started = Date.now();
const world = await startChaosWorld({ sims, reals, partition: true });
let reports: FaultReport[] = [];
let stopping = false;
for (const s of ["SIGINT", "SIGTERM"] as const) process.on(s, () => (stopping = true));
try {
  await startDesktops(world, reals * 3);
  let cycle = 0;
  // At least one full cycle, then as many as fit in the time asked for.
  while (!stopping && (cycle === 0 || Date.now() - started < minutes * 60_000)) {
    cycle++;
    reports = reports.concat(
      await runFaults(world, CYCLE, {
        opsPerSecond: 8,
        warmMs: 5_000,
        onReport: (r) => console.log(JSON.stringify({ cycle, ...r })),
      }),
    );
  }
} finally {
  await world.stop();
}

const byFault = new Map<string, FaultReport[]>();
for (const r of reports) byFault.set(r.name, [...(byFault.get(r.name) ?? []), r]);
const summary = [...byFault].map(([name, rs]) => {
  const keys = [...new Set(rs.flatMap((r) => Object.keys(r.figures)))];
  const figures = Object.fromEntries(
    keys.map((k) => [
      k,
      median(rs.map((r) => r.figures[k]).filter((v): v is number => typeof v === "number")),
    ]),
  );
  return { name, runs: rs.length, medians: figures, violations: rs.flatMap((r) => r.violations) };
});
console.log(
  JSON.stringify(
    {
      minutes: Math.round((Date.now() - started) / 60_000),
      sims,
      reals,
      calls: Object.fromEntries(world.outcomes),
      clientErrors: world.clientErrors.length + stray,
      summary,
    },
    null,
    2,
  ),
);
process.exit(summary.some((s) => s.violations.length) ? 1 : 0);
