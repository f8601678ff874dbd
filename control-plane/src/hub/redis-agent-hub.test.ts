import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { Redis } from "ioredis";
import { startRedis } from "../../../scripts/services.ts";
import { eventually, WAIT } from "../gateway/gateway-test-kit.ts";
import { runAgentHubCases } from "./agent-hub-cases.ts";
import { RedisAgentHub } from "./redis-agent-hub.ts";

const url = process.env.TEST_REDIS_URL;
if (!url) {
  throw new Error(
    "TEST_REDIS_URL is not set: run tests with `node --import tsx scripts/test.ts <files>`.",
  );
}
const quiet = { info() {}, warn() {}, error() {} };
const prefix = `t${randomBytes(4).toString("hex")}:`;

runAgentHubCases("redis", async (pod) => new RedisAgentHub({ pod, url, prefix, log: quiet }));

describe("RedisAgentHub under Redis trouble", () => {
  test("a route key expires without heartbeats and heals after FLUSHALL on the next refresh", async () => {
    await using own = await startRedis();
    const hub = new RedisAgentHub({ pod: "p1", url: own.url, routeTtlMs: 200, log: quiet });
    await hub.start(() => {});
    try {
      const raw = new Redis(own.url);
      await hub.register("agent-1", "c1");
      assert.equal(await raw.get("ss:agent:route:agent-1"), "p1|c1");
      await raw.flushall();
      assert.equal(await raw.get("ss:agent:route:agent-1"), null);
      await hub.refresh("agent-1", "c1");
      assert.equal(await raw.get("ss:agent:route:agent-1"), "p1|c1");
      await eventually(async () => (await raw.get("ss:agent:route:agent-1")) === null, {
        timeoutMs: WAIT.short,
      });
      raw.disconnect();
    } finally {
      await hub.close();
    }
  });

  test("Redis down: local sends work, one log line, degraded; back: routes re-registered", async () => {
    let redis = await startRedis();
    const port = redis.port;
    const lines: string[] = [];
    const log = {
      info: (m: string) => lines.push(`info ${m}`),
      warn() {},
      error: (m: string) => lines.push(`error ${m}`),
    };
    const hub = new RedisAgentHub({ pod: "p1", url: redis.url, log });
    const inbox: string[] = [];
    await hub.start((m) => inbox.push(m.agentId));
    try {
      await hub.register("agent-1", "c1");
      await redis.stop();
      await eventually(() => hub.status().state === "degraded", { timeoutMs: WAIT.long });
      assert.equal(await hub.send({ kind: "deliver", agentId: "agent-1" }), "local");
      assert.equal(await hub.send({ kind: "deliver", agentId: "elsewhere" }), "offline");
      await hub.refresh("agent-1", "c1");
      assert.deepEqual(inbox, ["agent-1"]);
      assert.equal(lines.filter((l) => l.startsWith("error")).length, 1);
      redis = await startRedis({ port });
      await eventually(() => hub.status().state === "ok", { timeoutMs: WAIT.long });
      const raw = new Redis(redis.url);
      await eventually(async () => (await raw.get("ss:agent:route:agent-1")) === "p1|c1", {
        timeoutMs: WAIT.long,
      });
      raw.disconnect();
      assert.ok(lines.some((l) => l.startsWith("info redis is back")));
    } finally {
      await hub.close();
      await redis.stop();
    }
  });
});
