/** Single use is bounded and expiring; config rejects bad values with the variable's name. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRelayConfig, parseDuration } from "./config.ts";
import { JtiSet } from "./tokens.ts";

describe("JtiSet", () => {
  it("refuses a second use with 4403 until the token expires", () => {
    let now = 1_000_000;
    const set = new JtiSet(10, () => now);
    set.consume("a", 1_060);
    assert.throws(
      () => set.consume("a", 1_060),
      (e: { code: number }) => e.code === 4403,
    );
    now = 1_061_000;
    set.consume("b", 1_200);
    assert.equal(set.size, 1);
  });

  it("refuses new tokens (1013) rather than forgetting live ones when full", () => {
    const set = new JtiSet(2, () => 0);
    set.consume("a", 100);
    set.consume("b", 100);
    assert.throws(
      () => set.consume("c", 100),
      (e: { code: number }) => e.code === 1013,
    );
  });
});

describe("relay config", () => {
  const base = { VIEWER_JWKS_URL: "http://cp:8080/.well-known/jwks.json" };
  it("has working defaults", () => {
    const c = loadRelayConfig(base);
    assert.equal(c.port, 8081);
    assert.equal(c.idleTimeoutMs, 30 * 60_000);
  });
  it("names the variable on bad input", () => {
    assert.throws(() => loadRelayConfig({ ...base, PORT: "http" }), /PORT="http" is invalid/);
    assert.throws(
      () => loadRelayConfig({ ...base, VNC_PROXY_TIMEOUT: "soon" }),
      /VNC_PROXY_TIMEOUT/,
    );
    assert.throws(() => loadRelayConfig({}), /VIEWER_JWKS_URL is missing/);
    assert.throws(
      () => loadRelayConfig({ ...base, RELAY_STATIC_MEMBERS: "nourl" }),
      /RELAY_STATIC_MEMBERS/,
    );
    assert.throws(() => loadRelayConfig({ VIEWER_JWKS: "{" }), /VIEWER_JWKS is invalid/);
    assert.throws(() => loadRelayConfig({ ...base, REDIS_URL: "localhost" }), /REDIS_URL/);
  });
  it("parses durations", () => {
    assert.equal(parseDuration("X", "90s"), 90_000);
    assert.equal(parseDuration("X", "1500ms"), 1500);
    assert.equal(parseDuration("X", "2m"), 120_000);
    assert.equal(parseDuration("X", "5"), 5000);
  });
});
