/**
 * The behaviour every HA backend must show (lease-backend.ts states the contract), as one suite
 * run against each implementation: file and Redis today, a Kubernetes Lease later. Two layers:
 * the backend's own promises (atomic take, refusal, expiry, release), then leader election over
 * it with real timers, since a backend can keep its contract call by call and still be too slow
 * or too lenient for the elector's timing.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { silentLogger } from "@streamspace/common/log";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import { LeaderElector } from "./leader-elector.ts";
import type { LeaseBackend } from "./lease-backend.ts";

/**
 * One fresh lease (a new Redis key, a new file): each call opens another replica's handle on
 * that same lease. The suite closes every handle it opens.
 */
export type LeaseHandles = () => LeaseBackend;

const TIMING = { leaseDurationMs: 800, renewDeadlineMs: 500, retryPeriodMs: 100 };
/** Short enough that expiry tests finish quickly, long enough to outlive one round trip. */
const SHORT_TTL = 300;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Opens `n` handles on one lease, waits until each answers (a backend may fail fast while it
 * connects, which the elector treats as a failed attempt), and closes them whatever the test does.
 */
async function withHandles(
  open: LeaseHandles,
  n: number,
  fn: (hs: LeaseBackend[]) => Promise<void>,
): Promise<void> {
  const hs = Array.from({ length: n }, () => open());
  try {
    // Releasing a lease nobody holds under that name is a no-op, so it is a harmless probe.
    for (const h of hs) await eventually(() => h.release("probe"), { what: "the backend answers" });
    await fn(hs);
  } finally {
    await Promise.allSettled(hs.map((h) => h.close()));
  }
}

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

function replicas(n: number, open: LeaseHandles): Replica[] {
  return Array.from({ length: n }, (_, i) => {
    const backend = new Partitionable(open());
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

/** Registers the shared HA cases under `name`; `newLease()` gives a fresh lease per test. */
export function runLeaseBackendCases(name: string, newLease: () => LeaseHandles): void {
  describe(`lease backend: ${name}`, () => {
    test("a free lease is taken; others are refused while it is valid; the holder renews", async () => {
      await withHandles(newLease(), 2, async ([a, b]) => {
        assert.ok(a && b);
        assert.equal(await a.acquireOrRenew("a", WAIT.medium), true, "a free lease is taken");
        assert.equal(await b.acquireOrRenew("b", WAIT.medium), false, "a held lease is refused");
        assert.equal(await a.acquireOrRenew("a", WAIT.medium), true, "the holder renews");
        assert.equal(await b.acquireOrRenew("b", WAIT.medium), false, "still refused");
      });
    });

    test("an expired lease goes to the next holder, and the old holder cannot renew it", async () => {
      await withHandles(newLease(), 2, async ([a, b]) => {
        assert.ok(a && b);
        assert.equal(await a.acquireOrRenew("a", SHORT_TTL), true);
        await eventually(() => b.acquireOrRenew("b", WAIT.medium), {
          what: "b takes the expired lease",
        });
        assert.equal(await a.acquireOrRenew("a", WAIT.medium), false, "a lost it for good");
        assert.equal(await b.acquireOrRenew("b", WAIT.medium), true);
      });
    });

    test("renewing extends the lease to ttl from now", async () => {
      await withHandles(newLease(), 2, async ([a, b]) => {
        assert.ok(a && b);
        assert.equal(await a.acquireOrRenew("a", SHORT_TTL), true);
        assert.equal(await a.acquireOrRenew("a", WAIT.medium), true);
        await pause(3 * SHORT_TTL);
        assert.equal(await b.acquireOrRenew("b", WAIT.medium), false, "the renewal outlived ttl");
      });
    });

    test("release frees the lease at once; a release by anyone else changes nothing", async () => {
      await withHandles(newLease(), 2, async ([a, b]) => {
        assert.ok(a && b);
        assert.equal(await a.acquireOrRenew("a", WAIT.medium), true);
        await b.release("b");
        assert.equal(await b.acquireOrRenew("b", WAIT.medium), false, "not freed by b");
        await a.release("a");
        assert.equal(await b.acquireOrRenew("b", WAIT.medium), true, "freed without expiry");
        await a.release("a");
        assert.equal(await a.acquireOrRenew("a", WAIT.medium), false, "a stale release is a no-op");
      });
    });

    test("of replicas racing for a free lease, exactly one wins", async () => {
      await withHandles(newLease(), 6, async (hs) => {
        const won = await Promise.all(
          hs.map((h, i) => h.acquireOrRenew(`r${i}`, WAIT.medium).catch(() => false)),
        );
        assert.equal(won.filter(Boolean).length, 1, JSON.stringify(won));
      });
    });
  });

  describe(`leader election: ${name}`, () => {
    test("exactly one of three replicas leads", async () => {
      const rs = replicas(3, newLease());
      try {
        for (const r of rs) r.elector.start();
        await eventuallyFound(() => leaders(rs).length === 1, { what: "one leader" });
        // Stays single over several renew periods.
        for (let i = 0; i < 10; i++) {
          assert.ok(leaders(rs).length <= 1, "never two leaders");
          await pause(TIMING.retryPeriodMs);
        }
        assert.equal(leaders(rs).length, 1);
      } finally {
        await shutdown(rs);
      }
    });

    test("a killed leader is replaced within LEASE_DURATION + RETRY_PERIOD", async () => {
      const rs = replicas(3, newLease());
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
      const rs = replicas(2, newLease());
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
      const rs = replicas(2, newLease());
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
          (next.started.at(-1) ?? 0) >= (a.stopped[0] ?? Number.POSITIVE_INFINITY),
          `the follower led only after the release (${Date.now() - t0} ms after stop)`,
        );
      } finally {
        await shutdown(rs);
      }
    });
  });
}
