/**
 * A relay killed (DESIGN.md §9: only its sessions reconnect, < 2 s). Three relay processes
 * behind HAProxy with Redis membership (deploy/local), an agent's relay links, 50 viewers on 50
 * sessions; one relay is SIGKILLed and each of its viewers reconnects through HAProxy until it
 * receives its session's first bytes again. Per run: kill → the viewer noticing (its socket
 * closes) and kill → the last and the median viewer flowing again. The e2e test
 * (e2e/relay-cluster.test.ts) checks that only those sessions move; this reports how fast.
 *
 *   node --import tsx bench/relay/relay-failover.ts [runs=3] [sessions=50]
 */
import type { Viewer } from "../../e2e/relay-fixtures.ts";
import { startRelayTier } from "../../e2e/relay-tier.ts";
import { loadAverage, quantile, spread } from "../stats.ts";

const runs = Number(process.argv[2] ?? 3);
const count = Number(process.argv[3] ?? 50);
const sessions = Array.from({ length: count }, (_, i) => `sess-${String(i).padStart(3, "0")}`);
const noticed: number[] = [];
const slowest: number[] = [];
const medians: number[] = [];
const loadBefore = await loadAverage();

for (let run = 1; run <= runs; run++) {
  await using tier = await startRelayTier({ relays: 3, sessions });
  const viewers = new Map<string, Viewer>();
  try {
    await Promise.all(
      sessions.map(async (sid) => {
        const v = await tier.open(sid);
        viewers.set(sid, v);
        await v.waitFor(tier.preamble.length, 60_000);
      }),
    );
    const victim = tier.cluster.relays.find((r) => r.id === "relay-2")!;
    const owned = new Set(await tier.sessionsOn(victim.url));
    const killAt = Date.now();
    await victim.kill("SIGKILL");
    const back = await Promise.all(
      [...owned].map(async (sid) => {
        const gone = await viewers.get(sid)!.waitClosed(60_000);
        noticed.push(gone.at - killAt);
        viewers.set(sid, await tier.reconnect(sid, 120_000));
        return Date.now() - killAt;
      }),
    );
    const cut = sessions.filter((s) => !owned.has(s) && viewers.get(s)?.closed).length;
    slowest.push(Math.max(...back));
    medians.push(quantile(back, 0.5));
    process.stderr.write(
      `run ${run}: relay-2 owned ${owned.size} of ${count}; slowest back ${Math.max(...back)} ms, ` +
        `median ${quantile(back, 0.5)} ms; other viewers cut: ${cut}\n`,
    );
  } finally {
    for (const v of viewers.values()) v.close();
  }
}

console.log(
  `relay SIGKILL → its viewers back, ${runs} runs × ${count} sessions over 3 relays (load average ${loadBefore} → ${await loadAverage()})`,
);
console.log("| what | median | min | max |\n|---|---|---|---|");
console.log(`| a viewer of the killed relay sees its socket close | ${spread(noticed)} |`);
console.log(`| slowest viewer of the killed relay flowing again | ${spread(slowest)} |`);
console.log(`| median viewer of the killed relay flowing again | ${spread(medians)} |`);
