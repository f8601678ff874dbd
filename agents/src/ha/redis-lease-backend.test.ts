import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { runLeaseBackendCases } from "./lease-backend-cases.ts";
import { RedisLeaseBackend } from "./redis-lease-backend.ts";

const redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;
test("TEST_REDIS_URL is set (run through scripts/test.ts, which starts Redis)", () => {
  assert.ok(redisUrl, "run: node --import tsx scripts/test.ts agents/src/ha");
});
if (redisUrl) {
  runLeaseBackendCases("redis", () => {
    const agentId = `agent-${randomUUID()}`;
    return () => new RedisLeaseBackend(redisUrl, agentId);
  });
  // LEASE_KEY names the key outright (several sites sharing one Redis pick their own).
  runLeaseBackendCases("redis (LEASE_KEY)", () => {
    const key = `site-${randomUUID()}:agent-lease`;
    return () => new RedisLeaseBackend(redisUrl, "ignored-agent", key);
  });
}
