/** Config rejects bad values with the variable's name. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadRelayConfig } from "./config.ts";

describe("relay config", () => {
  const base = { VIEWER_JWKS_URL: "http://cp:8080/.well-known/jwks.json" };
  it("has working defaults", () => {
    const c = loadRelayConfig(base);
    assert.equal(c.port, 8081);
    assert.equal(c.idleTimeoutMs, 30 * 60_000);
  });
  it("names the variable on bad input", () => {
    assert.throws(() => loadRelayConfig({ ...base, PORT: "http" }), /PORT="http" is not valid/);
    assert.throws(
      () => loadRelayConfig({ ...base, VNC_PROXY_TIMEOUT: "soon" }),
      /VNC_PROXY_TIMEOUT/,
    );
    assert.throws(() => loadRelayConfig({}), /VIEWER_JWKS_URL is missing/);
    assert.throws(
      () => loadRelayConfig({ ...base, RELAY_STATIC_MEMBERS: "nourl" }),
      /RELAY_STATIC_MEMBERS/,
    );
    assert.throws(() => loadRelayConfig({ VIEWER_JWKS: "{" }), /VIEWER_JWKS="\{" is not valid/);
    assert.throws(() => loadRelayConfig({ ...base, REDIS_URL: "localhost" }), /REDIS_URL/);
  });
  it("parses durations", () => {
    const idle = (v: string) => loadRelayConfig({ ...base, VNC_PROXY_TIMEOUT: v }).idleTimeoutMs;
    assert.equal(idle("90s"), 90_000);
    assert.equal(idle("1500ms"), 1500);
    assert.equal(idle("2m"), 120_000);
    assert.equal(idle("5"), 5000);
  });
  it("keeps the debug token out of its error and falls back for the relay id", () => {
    assert.throws(
      () => loadRelayConfig({ ...base, RELAY_DEBUG_TOKEN: "short-secret" }),
      (e: Error) =>
        /^RELAY_DEBUG_TOKEN is not valid/.test(e.message) && !e.message.includes("short-secret"),
    );
    assert.equal(loadRelayConfig({ ...base, POD_NAME: "relay-7" }).relayId, "relay-7");
    assert.equal(loadRelayConfig({ ...base, RELAY_ID: "r1", POD_NAME: "p" }).relayId, "r1");
    assert.throws(() => loadRelayConfig({ ...base, POD_NAME: "bad name" }), /RELAY_ID="bad name"/);
  });
  it("reads RELAY_DIRECT_NETS and names a bad entry", () => {
    assert.equal(loadRelayConfig(base).directNets, undefined);
    assert.equal(
      loadRelayConfig({ ...base, RELAY_DIRECT_NETS: "10.0.0.0/8, fd00::/8" }).directNets,
      "10.0.0.0/8, fd00::/8",
    );
    for (const bad of ["10.0.0.0/33", "cluster.local", "10.0.0.0/8/1", "fd00::/129"])
      assert.throws(
        () => loadRelayConfig({ ...base, RELAY_DIRECT_NETS: bad }),
        /RELAY_DIRECT_NETS=.* is not valid.*CIDRs/,
      );
  });
});
