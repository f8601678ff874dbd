/**
 * `npm start`'s system coming up: control plane (PGlite), relay and local agent as separate
 * processes, measured from the launch to /health showing the agent connected — first on an
 * empty data folder (migrations, key generation), then again on the same folder (a restart) —
 * and how long a clean stop takes. The e2e test (e2e/local-system.test.ts) checks that it
 * works; this reports how fast.
 *
 *   node --import tsx bench/system/local-start.ts [runs=5]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts, startLocalSystem } from "../../scripts/local-system.ts";
import { loadAverage, spread } from "../stats.ts";

const runs = Number(process.argv[2] ?? 5);
const first: number[] = [];
const again: number[] = [];
const stops: number[] = [];
const loadBefore = await loadAverage();

async function timedStart(dataDir: string): Promise<number> {
  const t0 = performance.now();
  const system = await startLocalSystem({ dataDir, output: () => {}, ...(await freePorts()) });
  const took = performance.now() - t0;
  const s0 = performance.now();
  await system.stop();
  stops.push(performance.now() - s0);
  return took;
}

for (let i = 0; i < runs; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), "ss-bench-start-"));
  try {
    first.push(await timedStart(dataDir));
    again.push(await timedStart(dataDir));
    process.stderr.write(
      `run ${i + 1}: first ${Math.round(first.at(-1)!)} ms, restart ${Math.round(again.at(-1)!)} ms\n`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(
  `local system start, ${runs} runs (load average ${loadBefore} → ${await loadAverage()})`,
);
console.log("| what | median | min | max |\n|---|---|---|---|");
console.log(`| start, empty data folder → agent connected | ${spread(first)} |`);
console.log(`| start, existing data folder → agent connected | ${spread(again)} |`);
console.log(`| clean stop (agent, relay, control plane) | ${spread(stops)} |`);
