/**
 * Agent leader failover: three replicas of one agent id campaign over a lease; the leader is
 * killed (stops renewing, no release — like a crashed process) at a random point of its renew
 * cycle, and we measure kill → a follower's onStartedLeading. Runs against a throwaway Redis
 * and against the file backend with the agent's default timing (LEASE_DURATION 2s,
 * RENEW_DEADLINE 1.5s, RETRY_PERIOD 250ms) unless overridden.
 *
 *   node --import tsx bench/agents/leader-failover.ts [runs=7]
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileLeaseBackend } from "@streamspace/agents/ha/file-lease-backend";
import { LeaderElector } from "@streamspace/agents/ha/leader-elector";
import type { LeaseBackend } from "@streamspace/agents/ha/lease-backend";
import { RedisLeaseBackend } from "@streamspace/agents/ha/redis-lease-backend";
import { startRedis } from "../../scripts/services.ts";

const runs = Number(process.argv[2] ?? 7);
const timing = {
  leaseDurationMs: Number(process.env.LEASE_DURATION_MS ?? 2000),
  renewDeadlineMs: Number(process.env.RENEW_DEADLINE_MS ?? 1500),
  retryPeriodMs: Number(process.env.RETRY_PERIOD_MS ?? 250),
};
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

async function once(makeBackend: () => LeaseBackend): Promise<number> {
  let takeoverAt = 0;
  let killedAt = 0;
  const backends: LeaseBackend[] = [];
  const electors = Array.from({ length: 3 }, (_, i) => {
    const backend = makeBackend();
    backends.push(backend);
    const e: LeaderElector = new LeaderElector({
      backend,
      identity: `replica-${i}`,
      ...timing,
      log: quiet,
      onStartedLeading: () => {
        if (killedAt && !takeoverAt) takeoverAt = performance.now();
      },
      onStoppedLeading: () => {},
    });
    return e;
  });
  for (const e of electors) e.start();
  const deadline = Date.now() + 10_000;
  let leader = electors.find((e) => e.isLeader);
  while (!leader) {
    if (Date.now() > deadline) throw new Error("no leader elected within 10 s");
    await new Promise((r) => setTimeout(r, 10));
    leader = electors.find((e) => e.isLeader);
  }
  // Kill at a random phase of the renew cycle, as a real crash would.
  await new Promise((r) => setTimeout(r, timing.retryPeriodMs * (1 + Math.random())));
  killedAt = performance.now();
  leader.kill();
  while (!takeoverAt) {
    if (performance.now() - killedAt > 20_000) throw new Error("no takeover within 20 s");
    await new Promise((r) => setTimeout(r, 5));
  }
  for (const e of electors) e.kill();
  for (const b of backends) await b.close();
  return takeoverAt - killedAt;
}

function summary(name: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)] ?? 0;
  return `${name.padEnd(6)} runs=${s.length} median=${med.toFixed(0)} ms min=${(s[0] ?? 0).toFixed(0)} ms max=${(s.at(-1) ?? 0).toFixed(0)} ms`;
}

const redis = await startRedis();
const dir = mkdtempSync(join(tmpdir(), "ss-failover-"));
try {
  const r: number[] = [];
  const f: number[] = [];
  for (let i = 0; i < runs; i++) {
    const id = `bench-${randomUUID()}`;
    r.push(await once(() => new RedisLeaseBackend(redis.url, id)));
    const path = join(dir, `lease-${i}`);
    f.push(await once(() => new FileLeaseBackend(path)));
  }
  console.log(
    `timing: LEASE_DURATION=${timing.leaseDurationMs}ms RENEW_DEADLINE=${timing.renewDeadlineMs}ms RETRY_PERIOD=${timing.retryPeriodMs}ms, 3 replicas`,
  );
  console.log(summary("redis", r));
  console.log(summary("file", f));
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
