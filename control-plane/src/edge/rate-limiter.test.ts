import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Principal } from "../domain/principal.ts";
import { RateLimitedError, RateLimiter, retryAfterSeconds } from "./rate-limiter.ts";

const user = (userId: string, apiKeyId?: string): Principal => ({
  kind: "user",
  userId,
  username: userId,
  role: "user",
  via: apiKeyId ? "api_key" : "access_token",
  ...(apiKeyId ? { apiKeyId } : {}),
});

function refusal(fn: () => void): RateLimitedError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RateLimitedError);
    return err;
  }
  assert.fail("the request was allowed");
}

describe("RateLimiter", () => {
  test("a burst, then one request per 1/rate seconds; the refusal names the wait", () => {
    let now = 0;
    const rl = new RateLimiter(
      { user: { perSecond: 2, burst: 3 }, apiKey: { perSecond: 1, burst: 1 } },
      () => now,
    );
    for (let i = 0; i < 3; i++) rl.take(user("a"));
    const err = refusal(() => rl.take(user("a")));
    assert.equal(err.code, "resource_exhausted");
    assert.equal(err.retryAfterMs, 500);
    assert.match(err.message, /at most 2 per second.*Retry in 0\.5 s/);
    now += 499;
    refusal(() => rl.take(user("a")));
    now += 1;
    rl.take(user("a"));
  });

  test("each user and each API key has its own bucket; anonymous callers are not counted", () => {
    const now = 0;
    const rl = new RateLimiter(
      { user: { perSecond: 1, burst: 1 }, apiKey: { perSecond: 1, burst: 2 } },
      () => now,
    );
    rl.take(user("a"));
    refusal(() => rl.take(user("a")));
    rl.take(user("b"));
    rl.take(user("a", "key-1"));
    rl.take(user("a", "key-1"));
    assert.match(refusal(() => rl.take(user("a", "key-1"))).message, /this API key/);
    rl.take(user("a", "key-2"));
    for (let i = 0; i < 100; i++) rl.take({ kind: "anonymous" });
  });

  test("a rate of 0 is no limit; the bucket map stays bounded", () => {
    let now = 0;
    const off = new RateLimiter({
      user: { perSecond: 0, burst: 1 },
      apiKey: { perSecond: 0, burst: 1 },
    });
    for (let i = 0; i < 1000; i++) off.take(user("a"));
    const rl = new RateLimiter(
      { user: { perSecond: 1, burst: 1 }, apiKey: { perSecond: 1, burst: 1 } },
      () => now,
      10,
    );
    for (let i = 0; i < 50; i++) rl.take(user(`u${i}`));
    // u0's bucket was evicted, so it starts full again (the cost of a bound: never a wrong refusal).
    rl.take(user("u0"));
    now += 1;
    assert.equal(retryAfterSeconds(1), "1");
    assert.equal(retryAfterSeconds(2500), "3");
  });
});
