/** The shared membership cases against the static list and against real Redis. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe } from "node:test";
import { heartbeatRelay } from "@streamspace/common/relay-membership";
import { Redis } from "ioredis";
import { staticMembership } from "./membership.ts";
import { runMembershipCases } from "./membership-cases.ts";
import { redisMembership } from "./redis-membership.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL;

describe("static membership", () => {
  runMembershipCases(async (self, peers) => staticMembership(self, peers));
});

describe("Redis membership", () => {
  runMembershipCases(async (self, peers) => {
    assert.ok(REDIS_URL, "run through scripts/test.ts, which starts Redis and sets REDIS_URL");
    const prefix = `t-${randomUUID()}`;
    const redis = new Redis(REDIS_URL);
    try {
      for (const p of peers) await heartbeatRelay(redis, p, 60_000, prefix);
    } finally {
      redis.disconnect();
    }
    return redisMembership({ self, url: REDIS_URL, ttlMs: 60_000, prefix, onError: () => {} });
  });
});
