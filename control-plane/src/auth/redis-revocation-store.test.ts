import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { Redis } from "ioredis";
import { freePort, startRedis } from "../../../scripts/services.ts";
import { DomainError } from "../domain/errors.ts";
import {
  type AuthTestDb,
  createAuthTestDb,
  createPod,
  manualClock,
  seedUser,
} from "./auth-test-kit.ts";
import { RedisRevocationStore } from "./redis-revocation-store.ts";
import { runRevocationCases } from "./revocation-store-cases.ts";

const PW = "correct horse battery";

/** A Redis client on the test server, quit on dispose. */
function createTestRedis(): Redis & AsyncDisposable {
  const url = process.env.TEST_REDIS_URL;
  if (!url) {
    throw new Error(
      'TEST_REDIS_URL is not set: run tests with "node --import tsx scripts/test.ts <files>", which starts Postgres and Redis.',
    );
  }
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  return Object.assign(redis, {
    async [Symbol.asyncDispose]() {
      await redis.quit().catch(() => redis.disconnect());
    },
  });
}

async function rejects(p: Promise<unknown>, code: DomainError["code"], message?: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof DomainError, `expected DomainError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

runRevocationCases("redis", async (now) => {
  const redis = createTestRedis();
  const prefix = `test:${Math.random().toString(36).slice(2)}:`;
  return Object.assign(new RedisRevocationStore(redis, { now, keyPrefix: prefix }), {
    [Symbol.asyncDispose]: () => redis[Symbol.asyncDispose](),
  });
});

describe("redis revocation store", () => {
  it("sets a TTL equal to the token's remaining life", async () => {
    await using redis = createTestRedis();
    const prefix = `ttl:${Math.random().toString(36).slice(2)}:`;
    // The store reads a manual clock, so the remaining life is exactly one hour when it sets
    // the key; Redis counts down in real time, so a minute of slack is left for a busy machine.
    const clock = manualClock();
    const store = new RedisRevocationStore(redis, { keyPrefix: prefix, now: clock.now });
    await store.revoke("jti-ttl", new Date(clock.now() + 3_600_000));
    const ttl = await redis.pttl(`${prefix}jti-ttl`);
    assert.ok(ttl > 3_540_000 && ttl <= 3_600_000, `ttl ${ttl}`);
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

describe("logout across pods", () => {
  let fixture: AuthTestDb;
  before(async () => {
    fixture = await createAuthTestDb();
    await seedUser(fixture.store, "alice", "user", PW);
  });
  after(() => fixture[Symbol.asyncDispose]());

  it("logout on pod A is seen by pod B through Redis, for the access and the refresh token", async () => {
    await using redisA = createTestRedis();
    await using redisB = createTestRedis();
    const podA = createPod(fixture.store, { revocations: new RedisRevocationStore(redisA) });
    const podB = createPod(fixture.store, { revocations: new RedisRevocationStore(redisB) });
    const { tokens } = await podA.auth.login({ username: "alice", password: PW });
    const principal = await podB.auth.authenticate(`Bearer ${tokens.accessToken}`);
    assert.equal(principal.kind, "user");
    await podA.auth.logout(
      principal,
      { refreshToken: tokens.refreshToken },
      `Bearer ${tokens.accessToken}`,
    );
    await rejects(
      podB.auth.authenticate(`Bearer ${tokens.accessToken}`),
      "unauthenticated",
      /revoked/,
    );
    await rejects(
      podB.auth.refresh({ refreshToken: tokens.refreshToken }),
      "unauthenticated",
      /revoked/,
    );
    // Logging out twice is fine.
    await podA.auth.logout(
      principal,
      { refreshToken: tokens.refreshToken },
      `Bearer ${tokens.accessToken}`,
    );
  });
});
