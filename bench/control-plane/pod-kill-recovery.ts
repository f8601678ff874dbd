/**
 * An agent back on another pod after its pod is killed (DESIGN.md §9: < 2 s, 100 % sessions
 * kept, 0 commands lost). Three control-plane processes on one Postgres and one Redis, 100
 * simulated agents (real gRPC streams); while 300 sessions are being created through random
 * pods, one pod is SIGKILLed. Per run: kill → the last of its agents welcomed by another pod
 * (and the median agent), then the e2e test's own checks (every session running, every command
 * exactly once). The e2e test (e2e/multipod.test.ts) checks that it works; this reports how fast.
 *
 *   node --import tsx bench/control-plane/pod-kill-recovery.ts [runs=3] [agents=100]
 */
import { startWorld, within } from "../../e2e/multipod-world.ts";
import { startPostgres, startRedis } from "../../scripts/services.ts";
import { loadAverage, quantile, spread } from "../stats.ts";

const runs = Number(process.argv[2] ?? 3);
const agents = Number(process.argv[3] ?? 100);
const slowest: number[] = [];
const medians: number[] = [];
const loadBefore = await loadAverage();
await using pg = await startPostgres();

for (let run = 1; run <= runs; run++) {
  await using redis = await startRedis();
  await using w = await startWorld({ postgresUrl: pg.url, redisUrl: redis.url, agents });
  const creating = w.createSessions(300, 12);
  await within(async () => {
    const r = await w.db.query("SELECT count(*)::int AS n FROM sessions");
    if (r.rows[0].n < 60) throw new Error(`${r.rows[0].n} sessions so far`);
  }, 120_000);
  const victims = w.agents.filter((a) => a.pod === "pod-1");
  const killAt = Date.now();
  await w.cluster.kill(1);
  const back = await within(
    () =>
      victims.map((a) => {
        const again = a.welcomes.find((x) => x.at > killAt && x.pod !== "pod-1");
        if (!again) throw new Error(`${a.id} is not back yet`);
        return again.at - killAt;
      }),
    120_000,
  );
  const created = await creating;
  const done = await w.assertAllDone(created, w.cluster);
  slowest.push(Math.max(...back));
  medians.push(quantile(back, 0.5));
  process.stderr.write(
    `run ${run}: ${victims.length} agents moved, slowest ${Math.max(...back)} ms, median ` +
      `${quantile(back, 0.5)} ms; ${created.length} sessions kept, ${done.commands} commands ` +
      `exactly once (${done.redeliveries} deduped redeliveries)\n`,
  );
}

console.log(
  `pod kill → agents back, ${runs} runs × ${agents} agents (load average ${loadBefore} → ${await loadAverage()})`,
);
console.log("| what | median | min | max |\n|---|---|---|---|");
console.log(`| slowest agent of the killed pod back on another pod | ${spread(slowest)} |`);
console.log(`| median agent of the killed pod back | ${spread(medians)} |`);
