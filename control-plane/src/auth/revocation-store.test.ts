import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { Redis } from "ioredis";
import { freePort, startRedis } from "../../../scripts/services.ts";
import { createTestRedis, manualClock } from "./auth-test-kit.ts";
import { RedisRevocationStore } from "./redis-revocation-store.ts";
import { MemoryRevocationStore, type RevocationStore } from "./revocation-store.ts";

/** The shared behaviour suite, run against both stores. */
function runRevocationCases(
  name: string,
  make: (now: () => number) => Promise<RevocationStore & Partial<AsyncDisposable>>,
) {
  describe(`${name} revocation store`, () => {
    it("remembers a revoked id until the token's expiry", async () => {
      const clock = manualClock();
      const store = await make(clock.now);
      try {
        await store.revoke("jti-a", new Date(clock.now() + 60_000));
        assert.equal(await store.isRevoked("jti-a"), true);
        assert.equal(await store.isRevoked("jti-b"), false);
      } finally {
        await store[Symbol.asyncDispose]?.();
      }
    });

    it("ignores revocations of already expired tokens", async () => {
      const clock = manualClock();
      const store = await make(clock.now);
      try {
        await store.revoke("jti-old", new Date(clock.now() - 1));
        assert.equal(await store.isRevoked("jti-old"), false);
      } finally {
        await store[Symbol.asyncDispose]?.();
      }
    });
  });
}

runRevocationCases("memory", async (now) => new MemoryRevocationStore({ now }));
runRevocationCases("redis", async (now) => {
  const redis = createTestRedis();
  const prefix = `test:${Math.random().toString(36).slice(2)}:`;
  return Object.assign(new RedisRevocationStore(redis, { now, keyPrefix: prefix }), {
    [Symbol.asyncDispose]: () => redis[Symbol.asyncDispose](),
  });
});

describe("memory revocation store bounds", () => {
  it("forgets expired entries and stays under its bound", async () => {
    const clock = manualClock();
    const store = new MemoryRevocationStore({ now: clock.now, maxEntries: 10 });
    for (let i = 0; i < 25; i++) await store.revoke(`j${i}`, new Date(clock.now() + 1000 + i));
    assert.ok(store.size <= 10);
    // The newest-expiring entries survive eviction.
    assert.equal(await store.isRevoked("j24"), true);
    clock.advance(5000);
    assert.equal(await store.isRevoked("j24"), false);
  });
});

describe("redis revocation store", () => {
  it("sets a TTL equal to the token's remaining life", async () => {
    await using redis = createTestRedis();
    const prefix = `ttl:${Math.random().toString(36).slice(2)}:`;
    const store = new RedisRevocationStore(redis, { keyPrefix: prefix });
    await store.revoke("jti-ttl", new Date(Date.now() + 30_000));
    const ttl = await redis.pttl(`${prefix}jti-ttl`);
    assert.ok(ttl > 25_000 && ttl <= 30_000, `ttl ${ttl}`);
  });

  it("keeps serving while Redis is down, holds its own revocations, and replays them after", async () => {
    const port = await freePort();
    let server = await startRedis({ port });
    const logs: string[] = [];
    const redis = new Redis({
      port,
      host: "127.0.0.1",
      maxRetriesPerRequest: 0,
      retryStrategy: () => 50,
    });
    redis.on("error", () => {}); // the outage is the point of this test
    try {
      const store = new RedisRevocationStore(redis, { timeoutMs: 200, log: (m) => logs.push(m) });
      await server.stop();
      // A revocation during the outage holds on this pod...
      await store.revoke("jti-outage", new Date(Date.now() + 60_000));
      assert.equal(await store.isRevoked("jti-outage"), true);
      // ...an unknown id is not refused (availability over a 15-minute window)...
      assert.equal(await store.isRevoked("jti-other"), false);
      assert.equal(store.degraded, true);
      assert.equal(logs.filter((l) => l.includes("unreachable")).length, 1);
      // ...and once Redis is back, other pods see it.
      server = await startRedis({ port });
      const other = new Redis({ port, host: "127.0.0.1" });
      try {
        await eventuallyFound(
          async () => {
            await store.isRevoked("poke");
            return (await other.exists("streamspace:revoked:jti-outage")) === 1;
          },
          { timeoutMs: WAIT.long, what: "revocation replayed to redis" },
        );
        assert.equal(store.degraded, false);
      } finally {
        other.disconnect();
      }
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
