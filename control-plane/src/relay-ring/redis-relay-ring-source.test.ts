/**
 * The Redis ring source: the shared suite, then real relay registrations over time (join, TTL
 * expiry, graceful leave), with the epoch growing on every change.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { heartbeatRelay, leaveRelay } from "@streamspace/common/relay-membership";
import { eventually } from "@streamspace/common/testing";
import { Redis } from "ioredis";
import type { RelayRingSnapshot } from "../gateway/relay-ring-source.ts";
import { createRedisRelayRingSource } from "./redis-relay-ring-source.ts";
import { runRelayRingSourceCases } from "./relay-ring-source-cases.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;

runRelayRingSourceCases("redis", async (members) => {
  assert.ok(REDIS_URL, "run through scripts/test.ts, which starts Redis and sets TEST_REDIS_URL");
  const prefix = `t-${randomUUID()}`;
  const redis = new Redis(REDIS_URL);
  try {
    for (const m of members) await heartbeatRelay(redis, m, 60_000, prefix);
  } finally {
    redis.disconnect();
  }
  return createRedisRelayRingSource({ url: REDIS_URL, prefix, pollMs: 50 });
});

describe("redis relay ring source", () => {
  it("follows joins, expiry and leaves with a growing epoch", async (t) => {
    assert.ok(REDIS_URL, "run through scripts/test.ts, which starts Redis and sets TEST_REDIS_URL");
    const prefix = `t-${randomUUID()}`;
    const redis = new Redis(REDIS_URL);
    t.after(() => redis.disconnect());
    const src = await createRedisRelayRingSource({ url: REDIS_URL, prefix, pollMs: 50 });
    t.after(() => src.close());
    assert.equal(src.current().members.length, 0);
    const seen: RelayRingSnapshot[] = [];
    src.subscribe((r) => seen.push(r));

    await heartbeatRelay(redis, { id: "r1", url: "http://127.0.0.1:1" }, 60_000, prefix);
    await heartbeatRelay(redis, { id: "r2", url: "http://127.0.0.1:2" }, 300, prefix);
    await eventually(() =>
      assert.deepEqual(
        src.current().members.map((m) => m.id),
        ["r1", "r2"],
      ),
    );
    const e1 = src.current().epoch;
    // A refresh that changes nothing keeps the epoch.
    await heartbeatRelay(redis, { id: "r1", url: "http://127.0.0.1:1" }, 60_000, prefix);
    assert.equal(
      (await heartbeatRelay(redis, { id: "r1", url: "http://127.0.0.1:1" }, 60_000, prefix)).epoch,
      e1,
    );
    // r2 stops refreshing: it expires.
    await eventually(() =>
      assert.deepEqual(
        src.current().members.map((m) => m.id),
        ["r1"],
      ),
    );
    assert.ok(src.current().epoch > e1);
    await leaveRelay(redis, "r1", prefix);
    await eventually(() => assert.equal(src.current().members.length, 0));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.epoch > seen[i - 1]!.epoch);
  });

  it("never goes back in epoch after the counter is lost", async (t) => {
    assert.ok(REDIS_URL);
    const prefix = `t-${randomUUID()}`;
    const redis = new Redis(REDIS_URL);
    t.after(() => redis.disconnect());
    const a = await heartbeatRelay(redis, { id: "r1", url: "http://127.0.0.1:1" }, 60_000, prefix);
    await redis.del(`${prefix}:relays:epoch`, `${prefix}:relays:members`);
    const b = await heartbeatRelay(redis, { id: "r1", url: "http://127.0.0.1:1" }, 60_000, prefix);
    assert.ok(b.epoch > a.epoch);
  });
});
