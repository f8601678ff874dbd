/**
 * The short form of the chaos suite (within `npm test`, a few minutes): 3 control-plane pods,
 * 3 relays, HAProxy, real Postgres and Redis, 20 scripted agents and 2 real agents with real
 * desktops, a steady load of create/stop/hibernate/wake and viewers reading frames; then, one
 * after another: SIGKILL a pod, SIGKILL a relay, SIGKILL a real agent, SIGSTOP an agent past the
 * heartbeat timeout, restart Redis, restart Postgres. After each, the invariants of
 * chaos-checks.ts must hold. Recovery figures are printed, never asserted (the long form,
 * long-run.ts, records them in bench/RESULTS.md).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ChaosWorld, startChaosWorld } from "./chaos-cluster.ts";
import {
  killControlPod,
  killRealAgent,
  killRelay,
  restartPostgres,
  restartRedis,
  stopAgentPastTimeout,
} from "./chaos-faults.ts";
import { runFaults, startDesktops } from "./chaos-run.ts";

let world: ChaosWorld | undefined;
before(async () => {
  world = await startChaosWorld({ sims: 20, reals: 2 });
  await startDesktops(world, 6);
});
after(async () => world?.stop());

describe("chaos, short form", () => {
  test("every fault leaves the invariants intact", async () => {
    const w = world!;
    const reports = await runFaults(
      w,
      [
        killControlPod,
        killRelay,
        killRealAgent,
        stopAgentPastTimeout,
        restartRedis,
        restartPostgres(0),
      ],
      {
        opsPerSecond: 4,
        warmMs: 2_000,
        onReport: (r) => console.error(`chaos: ${r.name}: ${JSON.stringify(r.figures)}`),
      },
    );
    console.error(`chaos: call outcomes ${JSON.stringify(Object.fromEntries(w.outcomes))}`);
    const failed = reports.flatMap((r) => r.violations.map((v) => `${r.name}: ${v}`));
    assert.deepEqual(failed, []);
  });
});
