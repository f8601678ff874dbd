/**
 * The long form of the chaos suite: the short form's world (more agents) and every fault,
 * including a 30-second Postgres outage and an outbox that fills while an agent is away,
 * repeated in cycles for at least CHAOS_MINUTES (default 30). Prints each fault's report as a
 * JSON line, then a summary (medians of every recovery figure, all violations) that goes into
 * bench/RESULTS.md. Exit status 1 when any invariant was violated or the run could not finish.
 *
 * The summary is printed however the run ends: after the last cycle, when a step throws, on
 * SIGINT/SIGTERM (after the fault in progress), and when the run overruns its time by
 * CHAOS_GRACE_MINUTES (default 20: a fault that hangs is then named as the one in progress).
 * The processes' logs are kept (the folder is printed) when anything was violated.
 *
 *   node --import tsx e2e/chaos/long-run.ts            # 30 minutes, 40 scripted + 3 real agents
 *   CHAOS_MINUTES=5 CHAOS_SIMS=20 node --import tsx e2e/chaos/long-run.ts
 *   CHAOS_FAULTS=postgres,partition CHAOS_MINUTES=0 node --import tsx e2e/chaos/long-run.ts
 *     (only the faults whose names contain one of the words; 0 minutes = one cycle)
 */
import { type ChaosWorld, startChaosWorld } from "./chaos-cluster.ts";
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
const graceMinutes = Number(process.env.CHAOS_GRACE_MINUTES ?? 20);
const sims = Number(process.env.CHAOS_SIMS ?? 40);
const reals = Number(process.env.CHAOS_REALS ?? 3);
const only = (process.env.CHAOS_FAULTS ?? "")
  .split(",")
  .map((w) => w.trim().toLowerCase())
  .filter(Boolean);
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
].filter((f) => !only.length || only.some((w) => f.name.toLowerCase().includes(w)));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : undefined;
};

const started = Date.now();
const reports: FaultReport[] = [];
/** Why the run ended early, when it did; part of the summary. */
const unfinished: string[] = [];
let current = "starting the world";
let world: ChaosWorld | undefined;
let stopping = false;
let summarized = false;

function summary(): { failed: boolean; text: string } {
  const byFault = new Map<string, FaultReport[]>();
  for (const r of reports) byFault.set(r.name, [...(byFault.get(r.name) ?? []), r]);
  const faults = [...byFault].map(([name, rs]) => {
    const keys = [...new Set(rs.flatMap((r) => Object.keys(r.figures)))];
    const medians = Object.fromEntries(
      keys.map((k) => [
        k,
        median(rs.map((r) => r.figures[k]).filter((v): v is number => typeof v === "number")),
      ]),
    );
    return { name, runs: rs.length, medians, violations: rs.flatMap((r) => r.violations) };
  });
  const failed = unfinished.length > 0 || faults.some((f) => f.violations.length > 0);
  const text = JSON.stringify(
    {
      minutes: Math.round(((Date.now() - started) / 60_000) * 10) / 10,
      sims,
      reals,
      faultsRun: reports.length,
      unfinished,
      calls: world ? Object.fromEntries(world.outcomes) : {},
      clientErrors: world?.clientErrors.length ?? 0,
      logs: failed ? world?.logDir : undefined,
      summary: faults,
    },
    null,
    2,
  );
  return { failed, text };
}

/** Prints the summary once, stops the world (bounded) and exits. */
async function finish(): Promise<never> {
  if (!summarized) {
    summarized = true;
    const { failed, text } = summary();
    console.log(text);
    const stopped = world?.stop({ keepLogs: failed });
    const bound = new Promise((r) => setTimeout(r, 60_000).unref());
    await Promise.race([stopped?.catch((e: unknown) => console.error(`stop: ${e}`)), bound]);
    process.exit(failed ? 1 : 0);
  }
  return new Promise<never>(() => {});
}

for (const s of ["SIGINT", "SIGTERM"] as const) {
  process.on(s, () => {
    if (stopping) void finish();
    stopping = true;
    console.error(`${s}: stopping after "${current}" (again to stop now)`);
  });
}
// Once the world is up it records stray errors itself (chaos-cluster.ts); before that, or after
// it stopped, an error nobody caught ends the run, with its summary.
for (const e of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(e, (err: unknown) => {
    if (world && !summarized) return;
    unfinished.push(`${e} while ${current}: ${err instanceof Error ? err.stack : String(err)}`);
    void finish();
  });
}
const watchdog = setTimeout(
  () => {
    unfinished.push(`overran by ${graceMinutes} min; still in: ${current}`);
    void finish();
  },
  (minutes + graceMinutes) * 60_000,
);
watchdog.unref();

try {
  world = await startChaosWorld({ sims, reals, partition: true });
  current = "starting the real agents' desktops";
  await startDesktops(world, reals * 3);
  let cycle = 0;
  // At least one full cycle, then as many as fit in the time asked for.
  while (!stopping && (cycle === 0 || Date.now() - started < minutes * 60_000)) {
    cycle++;
    const done = await runFaults(world, CYCLE, {
      opsPerSecond: 8,
      warmMs: 5_000,
      shouldStop: () => stopping,
      onStart: (f) => {
        current = `cycle ${cycle}: ${f.name}`;
      },
      onReport: (r) => console.log(JSON.stringify({ cycle, at: new Date().toISOString(), ...r })),
    });
    reports.push(...done);
  }
  if (stopping) unfinished.push(`stopped by a signal after ${current}`);
} catch (err) {
  unfinished.push(`${current}: ${err instanceof Error ? err.stack : String(err)}`);
}
await finish();
