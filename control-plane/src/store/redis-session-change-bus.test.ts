import assert from "node:assert/strict";
import { test } from "node:test";
import { Redis } from "ioredis";
import { startRedis } from "../../../scripts/services.ts";
import type { SessionChange } from "../domain/ports.ts";
import type { Session } from "../domain/types.ts";
import { RedisSessionChangeBus } from "./redis-session-change-bus.ts";
import { runSessionChangeBusCases } from "./session-change-bus-cases.ts";
import { eventually, WAIT } from "./test-kit.ts";

const url = process.env.TEST_REDIS_URL;
if (!url) {
  throw new Error(
    "TEST_REDIS_URL is not set: run tests with `node --import tsx scripts/test.ts <files>`.",
  );
}
const testRedis = url;

// Every pod has its own Redis connection, as separate processes would.
runSessionChangeBusCases("redis", async () => {
  const parts: { client: Redis; bus: RedisSessionChangeBus }[] = [];
  return {
    async bus() {
      const client = new Redis(testRedis, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
      const bus = new RedisSessionChangeBus(client);
      parts.push({ client, bus });
      await bus.ready();
      return bus;
    },
    async [Symbol.asyncDispose]() {
      for (const p of parts) {
        await p.bus.close();
        p.client.disconnect();
      }
    },
  };
});

const session = (id: string, version: number): Session => ({
  id,
  ownerId: "u-alice",
  templateId: "",
  agentId: "a",
  state: "running",
  stateReason: "",
  version,
  displayName: "d",
  resources: { cpuMillis: 1n, memoryBytes: 2n },
  vncEndpoint: "",
  holdsCapacity: true,
  deleteRequested: false,
  createTime: new Date(1_700_000_000_000),
  updateTime: new Date(1_700_000_000_500),
});

test("changes published on one pod reach watchers on another, once each; Redis loss degrades to local and recovers", async () => {
  await using redis = await startRedis();
  const clientA = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const clientB = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const a = new RedisSessionChangeBus(clientA);
  const b = new RedisSessionChangeBus(clientB);
  try {
    await Promise.all([a.ready(), b.ready()]);
    const onA: SessionChange[] = [];
    const onB: SessionChange[] = [];
    a.subscribe((c) => onA.push(c));
    b.subscribe((c) => onB.push(c));

    a.publish({ session: session("11111111-1111-4111-8111-111111111111", 2), deleted: false });
    b.publish({ session: session("22222222-2222-4222-8222-222222222222", 5), deleted: true });
    await eventually(
      () => {
        assert.equal(onA.length, 2);
        assert.equal(onB.length, 2);
      },
      { timeoutMs: WAIT.short },
    );
    const got = onB.find((c) => c.session.version === 2);
    assert.equal(got?.session.id, "11111111-1111-4111-8111-111111111111");
    assert.equal(got?.session.state, "running");
    assert.equal(got?.session.resources.memoryBytes, 2n);
    assert.equal(got?.session.createTime.getTime(), 1_700_000_000_000);
    assert.equal(onA.find((c) => c.session.version === 5)?.deleted, true);

    // Redis gone: local watchers still hear local changes, and nothing throws at the publisher.
    await redis.stop();
    a.publish({ session: session("33333333-3333-4333-8333-333333333333", 1), deleted: false });
    assert.equal(onA.length, 3);

    // Redis back on the same port: subscribers resubscribe by themselves and cross-pod works again.
    await using again = await startRedis({ port: redis.port });
    let v = 10;
    await eventually(
      () => {
        a.publish({
          session: session("44444444-4444-4444-8444-444444444444", v++),
          deleted: false,
        });
        assert.ok(onB.some((c) => c.session.id === "44444444-4444-4444-8444-444444444444"));
      },
      { timeoutMs: WAIT.medium, intervalMs: 200 },
    );
    assert.ok(again.port === redis.port);
  } finally {
    await a.close();
    await b.close();
    clientA.disconnect();
    clientB.disconnect();
  }
});
