/** Config rejects bad values with the variable's name. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRelayConfig, parseDuration } from "./config.ts";

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
