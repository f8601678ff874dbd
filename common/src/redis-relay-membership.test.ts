/**
 * Relay membership in real Redis: joins, URL changes, TTL expiry on the Redis clock, leaves,
 * one epoch bump per change, epochs that never go back when the counter is lost, and a watcher
 * that hears about changes.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import {
  heartbeatRelay,
  leaveRelay,
  readRelayRing,
  relayKeys,
  watchRelayRing,
} from "./redis-relay-membership.ts";
import type { RingSnapshot } from "./relay-ring.ts";
import { eventually } from "./testing.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;

function connect(t: { after(fn: () => void): void }) {
  assert.ok(REDIS_URL, "run through scripts/test.ts, which starts Redis and sets REDIS_URL");
  const redis = new Redis(REDIS_URL);
  t.after(() => redis.disconnect());
  return redis;
}

const ids = (s: RingSnapshot) => s.members.map((m) => m.id);

describe("relay membership in Redis", () => {
  it("joins, refreshes, changes URL and leaves with one epoch bump per change", async (t) => {
    const redis = connect(t);
    const prefix = `t-${randomUUID()}`;
    const a1 = await heartbeatRelay(redis, { id: "a", url: "http://a:1" }, 60_000, prefix);
    assert.deepEqual(ids(a1), ["a"]);
    const same = await heartbeatRelay(redis, { id: "a", url: "http://a:1" }, 60_000, prefix);
    assert.equal(same.epoch, a1.epoch, "a refresh is not a change");
    const b = await heartbeatRelay(redis, { id: "b", url: "http://b:1" }, 60_000, prefix);
    assert.deepEqual(ids(b), ["a", "b"]);
    assert.equal(b.epoch, a1.epoch + 1n);
    const moved = await heartbeatRelay(redis, { id: "a", url: "http://a:2" }, 60_000, prefix);
    assert.equal(moved.epoch, b.epoch + 1n);
    assert.equal(moved.members.find((m) => m.id === "a")?.url, "http://a:2");
    const left = await leaveRelay(redis, "a", prefix);
    assert.deepEqual(ids(left), ["b"]);
    assert.equal(left.epoch, moved.epoch + 1n);
    assert.deepEqual(await readRelayRing(redis, prefix), left);
    await redis.del(...Object.values(relayKeys(prefix)));
  });

  it("expires a member whose TTL lapsed, on the Redis clock", async (t) => {
    const redis = connect(t);
    const prefix = `t-${randomUUID()}`;
    await heartbeatRelay(redis, { id: "keep", url: "http://k:1" }, 60_000, prefix);
    const joined = await heartbeatRelay(redis, { id: "dies", url: "http://d:1" }, 50, prefix);
    const after = await eventually(
      async () => {
        const r = await readRelayRing(redis, prefix);
        assert.deepEqual(ids(r), ["keep"]);
        return r;
      },
      { what: "the expired member to leave the ring" },
    );
    assert.ok(after.epoch > joined.epoch);
    await redis.del(...Object.values(relayKeys(prefix)));
  });

  it("a lost epoch counter is re-seeded so epochs never go back", async (t) => {
    const redis = connect(t);
    const prefix = `t-${randomUUID()}`;
    const before = await heartbeatRelay(redis, { id: "a", url: "http://a:1" }, 60_000, prefix);
    await redis.del(relayKeys(prefix).epoch);
    const after = await heartbeatRelay(redis, { id: "b", url: "http://b:1" }, 60_000, prefix);
    assert.ok(after.epoch > before.epoch, `${after.epoch} > ${before.epoch}`);
    await redis.del(...Object.values(relayKeys(prefix)));
  });

  it("a watcher hears joins and leaves, and stops when told", async (t) => {
    const redis = connect(t);
    const sub = connect(t);
    const prefix = `t-${randomUUID()}`;
    const seen: RingSnapshot[] = [];
    const errors: unknown[] = [];
    const stop = watchRelayRing({
      redis,
      subscriber: sub,
      pollMs: 60_000,
      prefix,
      onRing: (r) => seen.push(r),
      onError: (e) => errors.push(e),
    });
    t.after(stop);
    await eventually(() => assert.ok(seen.length >= 1), { what: "the first read" });
    await eventually(async () => {
      // Re-announce until the subscription is live: the first publish may precede it.
      await heartbeatRelay(redis, { id: `r-${seen.length}`, url: "http://r:1" }, 60_000, prefix);
      assert.ok(seen.some((r) => r.members.length > 0));
    });
    const n = (await readRelayRing(redis, prefix)).members.length;
    await heartbeatRelay(redis, { id: "late", url: "http://l:1" }, 60_000, prefix);
    await eventually(() => assert.ok(seen.some((r) => r.members.length === n + 1)));
    stop();
    const count = seen.length;
    await leaveRelay(redis, "late", prefix);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen.length, count, "no callbacks after stop");
    assert.deepEqual(errors, []);
    await redis.del(...Object.values(relayKeys(prefix)));
  });
});
