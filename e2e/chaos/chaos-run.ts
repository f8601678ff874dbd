/**
 * One chaos run: a world, a steady load, viewers on every running real-agent session, and the
 * faults one after another (each judged once the system has settled). Used by the short form in
 * `npm test` (chaos.test.ts) and by the long form (long-run.ts), which repeats the cycle.
 */
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { allAgentsBack, timeUntil } from "./chaos-checks.ts";
import type { ChaosWorld } from "./chaos-cluster.ts";
import { type Fault, type FaultReport, runFault } from "./chaos-faults.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a viewer on every running real-agent session that has none open. */
export async function ensureViewers(world: ChaosWorld): Promise<void> {
  const page = await world.sessions().listSessions({ pageSize: 500 }, world.admin);
  const watched = new Set(world.viewers.filter((v) => !v.closed).map((v) => v.sessionId));
  for (const s of page.sessions) {
    if (!s.agentId.startsWith("real-") || s.state !== SessionState.RUNNING) continue;
    if (watched.has(s.id)) continue;
    await world.openViewer(s.id).catch(() => {});
  }
}

/** Starts `n` desktops on the real agents and waits until they run. */
export async function startDesktops(world: ChaosWorld, n: number): Promise<void> {
  if ((await timeUntil(() => allAgentsBack(world), 120_000)) === undefined) {
    throw new Error("not every agent connected within two minutes");
  }
  for (let i = 0; i < n; i++) {
    await world.sessions().createSession({ template: "demo-desktop", region: "real" }, world.admin);
  }
  for (let i = 0; i < 300; i++) {
    const page = await world.sessions().listSessions({ pageSize: 500 }, world.admin);
    const real = page.sessions.filter((s) => s.agentId.startsWith("real-"));
    if (real.length >= n && real.every((s) => s.state === SessionState.RUNNING)) return;
    await sleep(200);
  }
  throw new Error("the real agents' desktops did not start within a minute");
}

/** Runs the faults in order under load; returns one report per fault. */
export async function runFaults(
  world: ChaosWorld,
  faults: Fault[],
  opts: {
    opsPerSecond: number;
    warmMs: number;
    onStart?: (f: Fault) => void;
    onReport?: (r: FaultReport) => void;
    /** Checked before each fault: true ends the list early (the long run's SIGTERM). */
    shouldStop?: () => boolean;
  },
): Promise<FaultReport[]> {
  const reports: FaultReport[] = [];
  for (const fault of faults) {
    if (opts.shouldStop?.()) break;
    opts.onStart?.(fault);
    await ensureViewers(world);
    world.startLoad(opts.opsPerSecond);
    await sleep(opts.warmMs);
    // A fault that throws is a failed fault, judged like the others: the run goes on.
    const r = await runFault(world, fault).catch((err: unknown) => ({
      name: fault.name,
      violations: [`the fault could not run: ${String(err)}`],
      figures: {},
    }));
    opts.onReport?.(r);
    reports.push(r);
  }
  return reports;
}
