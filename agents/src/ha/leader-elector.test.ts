import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { silentLogger } from "../runtime/log.ts";
import { FileLeaseBackend } from "./file-lease-backend.ts";
import { checkLeaseTiming, LeaderElector, type LeaseBackend } from "./leader-elector.ts";
import { RedisLeaseBackend } from "./redis-lease-backend.ts";

const TIMING = { leaseDurationMs: 800, renewDeadlineMs: 500, retryPeriodMs: 100 };

/** Wraps a backend so a test can cut one replica off (as if partitioned from the store). */
class Partitionable implements LeaseBackend {
  cut = false;
  constructor(private readonly inner: LeaseBackend) {}
  acquireOrRenew(h: string, ttl: number) {
    return this.cut ? Promise.reject(new Error("partitioned")) : this.inner.acquireOrRenew(h, ttl);
  }
  release(h: string) {
    return this.inner.release(h);
  }
  close() {
    return this.inner.close();
  }
}

interface Replica {
  id: string;
  elector: LeaderElector;
  backend: Partitionable;
  started: number[];
  stopped: number[];
}

function replicas(n: number, makeBackend: () => LeaseBackend): Replica[] {
  return Array.from({ length: n }, (_, i) => {
    const backend = new Partitionable(makeBackend());
    const r: Replica = {
      id: `replica-${i}`,
      backend,
      started: [],
      stopped: [],
      elector: undefined as unknown as LeaderElector,
    };
    r.elector = new LeaderElector({
      backend,
      identity: r.id,
      ...TIMING,
      log: silentLogger,
      onStartedLeading: () => r.started.push(Date.now()),
      onStoppedLeading: () => r.stopped.push(Date.now()),
    });
    return r;
  });
}

async function shutdown(rs: Replica[]): Promise<void> {
  for (const r of rs) {
    r.elector.kill();
    await r.backend.close();
  }
}

function leaders(rs: Replica[]): Replica[] {
  return rs.filter((r) => r.elector.isLeader);
}

/** `newStore()` returns a backend factory for one fresh lease (a new key or file) per test. */
function electorCases(name: string, newStore: () => () => LeaseBackend): void {
  describe(`leader election: ${name}`, () => {
    test("exactly one of three replicas leads", async () => {
      const rs = replicas(3, newStore());
      try {
        for (const r of rs) r.elector.start();
        await eventuallyFound(() => leaders(rs).length === 1, { what: "one leader" });
        // Stays single over several renew periods.
        for (let i = 0; i < 10; i++) {
          assert.ok(leaders(rs).length <= 1, "never two leaders");
          await new Promise((r) => setTimeout(r, TIMING.retryPeriodMs));
        }
        assert.equal(leaders(rs).length, 1);
      } finally {
        await shutdown(rs);
      }
    });

    test("a killed leader is replaced within LEASE_DURATION + RETRY_PERIOD", async () => {
      const rs = replicas(3, newStore());
      try {
        for (const r of rs) r.elector.start();
        const first = await eventuallyFound(() => leaders(rs)[0], { what: "first leader" });
        const killedAt = Date.now();
        first.elector.kill();
        const next = await eventuallyFound(() => leaders(rs).find((r) => r !== first), {
          what: "takeover",
          timeoutMs: WAIT.medium,
        });
        const took = (next.started.at(-1) ?? 0) - killedAt;
        // How soon is leader-elector-clock.test.ts (manual clock) and bench/agents (the figure).
        assert.ok(took >= 0, `the takeover came after the kill (${took} ms)`);
        assert.equal(leaders(rs).length, 1);
      } finally {
        await shutdown(rs);
      }
    });

    test("a leader cut off steps down before its lease expires, and can win again", async () => {
      const rs = replicas(2, newStore());
      try {
        for (const r of rs) r.elector.start();
        const a = await eventuallyFound(() => leaders(rs)[0], { what: "first leader" });
        const b = rs.find((r) => r !== a) as Replica;
        a.backend.cut = true;
        await eventuallyFound(() => a.stopped.length === 1, { what: "step down" });
        await eventuallyFound(() => b.elector.isLeader, { what: "b takes over" });
        assert.ok(
          (b.started[0] ?? 0) >= (a.stopped[0] ?? 0),
          "the old leader stopped before the new one started",
        );
        a.backend.cut = false;
        b.elector.kill();
        await eventuallyFound(() => a.elector.isLeader, { what: "a leads again" });
        assert.equal(a.started.length, 2);
      } finally {
        await shutdown(rs);
      }
    });

    test("a graceful stop releases the lease so a follower takes over quickly", async () => {
      const rs = replicas(2, newStore());
      try {
        for (const r of rs) r.elector.start();
        const a = await eventuallyFound(() => leaders(rs)[0], { what: "first leader" });
        const t0 = Date.now();
        await a.elector.stop();
        assert.equal(a.stopped.length, 1);
        await eventuallyFound(() => leaders(rs).length === 1 && !a.elector.isLeader, {
          what: "follower leads",
        });
        const next = rs.find((r) => r !== a) as Replica;
        assert.ok(
          (next.started.at(-1) ?? 0) >= (a.stopped[0] ?? Infinity),
          `the follower led only after the release (${Date.now() - t0} ms after stop)`,
        );
      } finally {
        await shutdown(rs);
      }
    });
  });
}

const redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;
test("TEST_REDIS_URL is set (run through scripts/test.ts, which starts Redis)", () => {
  assert.ok(redisUrl, "run: node --import tsx scripts/test.ts agents/src/ha");
});
if (redisUrl) {
  electorCases("redis", () => {
    const agentId = `agent-${randomUUID()}`;
    return () => new RedisLeaseBackend(redisUrl, agentId);
  });
}
const dir = mkdtempSync(join(tmpdir(), "ss-lease-"));
after(() => rmSync(dir, { recursive: true, force: true }));
electorCases("file", () => {
  const path = join(dir, `lease-${randomUUID()}`);
  return () => new FileLeaseBackend(path);
});

test("lease timing is validated with the variable names", () => {
  assert.throws(
    () => checkLeaseTiming({ leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 100 }),
    /LEASE_DURATION/,
  );
  assert.throws(
    () => checkLeaseTiming({ leaseDurationMs: 1000, renewDeadlineMs: 100, retryPeriodMs: 100 }),
    /RENEW_DEADLINE/,
  );
  assert.throws(
    () => checkLeaseTiming({ leaseDurationMs: 1000, renewDeadlineMs: 500, retryPeriodMs: 0 }),
    /RETRY_PERIOD/,
  );
});
