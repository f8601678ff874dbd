import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Clock } from "@streamspace/common/clock";
import { silentLogger } from "@streamspace/common/log";
import { ManualClock, settle } from "@streamspace/common/testing";
import { LeaderElector } from "./leader-elector.ts";
import type { LeaseBackend } from "./lease-backend.ts";

/** An in-memory lease on the manual clock: the narrow interface, nothing more. */
class MemoryLease implements LeaseBackend {
  holder: string | undefined;
  expiresAt = 0;
  down = new Set<string>();
  constructor(private readonly clock: Clock) {}
  async acquireOrRenew(h: string, ttl: number): Promise<boolean> {
    if (this.down.has(h)) throw new Error("unreachable");
    const now = this.clock.now();
    if (this.holder && this.holder !== h && this.expiresAt > now) return false;
    this.holder = h;
    this.expiresAt = now + ttl;
    return true;
  }
  async release(h: string): Promise<void> {
    if (this.holder === h) this.holder = undefined;
  }
  async close(): Promise<void> {}
}

// Kubernetes' defaults, which real-time tests could not afford.
const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function elector(clock: ManualClock, lease: MemoryLease, id: string, log: string[]) {
  return new LeaderElector({
    backend: lease,
    identity: id,
    ...TIMING,
    clock,
    log: silentLogger,
    onStartedLeading: () => log.push(`${clock.now()} ${id} start`),
    onStoppedLeading: () => log.push(`${clock.now()} ${id} stop`),
  });
}

describe("leader election on a manual clock", () => {
  test("a crashed leader is replaced after the lease expires, not before", async () => {
    const clock = new ManualClock(0);
    const lease = new MemoryLease(clock);
    const log: string[] = [];
    const a = elector(clock, lease, "a", log);
    const b = elector(clock, lease, "b", log);
    a.start();
    await settle();
    b.start();
    await settle();
    assert.deepEqual(log, ["0 a start"]);
    await clock.advance(5_000);
    a.kill(); // last renew at t=4000
    await clock.advance(14_000); // t=19000: lease (4000+15000) just expired, next retry pending
    assert.ok(!b.isLeader);
    await clock.advance(2_000);
    assert.ok(b.isLeader);
    const took = Number(log[1]?.split(" ")[0]) - 5_000;
    assert.ok(
      took <= TIMING.leaseDurationMs + TIMING.retryPeriodMs,
      `took ${took} ms of clock time`,
    );
    b.kill();
  });

  test("a cut-off leader steps down at RENEW_DEADLINE, before anyone else can lead; it can lead again", async () => {
    const clock = new ManualClock(0);
    const lease = new MemoryLease(clock);
    const log: string[] = [];
    const a = elector(clock, lease, "a", log);
    const b = elector(clock, lease, "b", log);
    a.start();
    await settle();
    b.start();
    await settle();
    lease.down.add("a");
    await clock.advance(30_000);
    const [aStop, bStart] = [
      log.find((l) => l.endsWith("a stop")),
      log.find((l) => l.endsWith("b start")),
    ];
    assert.ok(aStop && bStart, log.join(", "));
    assert.ok(Number(aStop.split(" ")[0]) <= TIMING.renewDeadlineMs + TIMING.retryPeriodMs);
    assert.ok(Number(aStop.split(" ")[0]) < Number(bStart.split(" ")[0]), "never two leaders");
    lease.down.delete("a");
    b.kill();
    await clock.advance(TIMING.leaseDurationMs + TIMING.retryPeriodMs);
    assert.ok(a.isLeader, "the old leader wins again");
    a.kill();
  });
});
