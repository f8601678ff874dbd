import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadConfig } from "./config.ts";

describe("control-plane configuration", () => {
  test("single-node defaults need nothing set", () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.host, "0.0.0.0");
    assert.equal(c.logLevel, "info");
    assert.equal(c.hubBackend, "memory");
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.agentHeartbeatTimeoutMs, 30_000);
    assert.equal(c.agentHeartbeatIntervalMs, 10_000);
    assert.equal(c.drainTimeoutMs, 25_000);
    assert.deepEqual(c.relayUrls, []);
    assert.equal(c.agentAutoApprove, false);
  });

  test("durations: the one syntax, and a bare number is seconds as before", () => {
    assert.equal(loadConfig({ AGENT_HEARTBEAT_TIMEOUT: "45" }).agentHeartbeatTimeoutMs, 45_000);
    assert.equal(loadConfig({ AGENT_HEARTBEAT_TIMEOUT: "1500ms" }).agentHeartbeatTimeoutMs, 1500);
    assert.equal(loadConfig({ DRAIN_TIMEOUT: "1m" }).drainTimeoutMs, 60_000);
    assert.equal(loadConfig({}).databaseQueryTimeoutMs, 15_000);
    assert.equal(loadConfig({ DB_QUERY_TIMEOUT: "500ms" }).databaseQueryTimeoutMs, 500);
    assert.equal(loadConfig({ DRAIN_TIMEOUT: "1d" }).drainTimeoutMs, 86_400_000);
  });

  test("DB_* parts build the URL; DATABASE_URL wins", () => {
    const parts = { DB_HOST: "db", DB_USER: "u ser", DB_PASSWORD: "p@ss", DB_NAME: "n" };
    assert.equal(loadConfig(parts).databaseUrl, "postgres://u%20ser:p%40ss@db:5432/n");
    assert.equal(
      loadConfig({ ...parts, DATABASE_URL: "postgres://x/y" }).databaseUrl,
      "postgres://x/y",
    );
  });

  test("Redis makes the hub redis by default, and then JWT_SECRET is required", () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }),
      /^ConfigError: JWT_SECRET is required with several pods/,
    );
    const c = loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", JWT_SECRET: "s".repeat(32) });
    assert.equal(c.hubBackend, "redis");
    assert.equal(
      loadConfig({ REDIS_URL: "redis://h:1", AGENT_HUB_BACKEND: "memory" }).hubBackend,
      "memory",
    );
  });

  test("secrets and passwords are taken byte for byte", () => {
    const c = loadConfig({ ADMIN_PASSWORD: " spaced out ", JWT_SECRET: ` ${"x".repeat(32)}\n` });
    assert.equal(c.adminPassword, " spaced out ");
    assert.equal(c.jwtSecret, ` ${"x".repeat(32)}\n`);
  });

  test("each bad value is one line naming the variable and what it expected", () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ LOG_LEVEL: "loud" }, /^LOG_LEVEL="loud" is not valid: expected one of debug, info/],
      [{ REDIS_URL: "http://x" }, /^REDIS_URL="http:\/\/x" is not valid: expected a redis: or/],
      [{ AGENT_AUTO_APPROVE: "maybe" }, /^AGENT_AUTO_APPROVE="maybe" .*true or false\.$/],
      [{ DB_HOST: "h", DB_PORT: "0" }, /^DB_PORT="0" .*from 1 to 65535\.$/],
      [{ VNC_RELAY_PROXY: "ws://x" }, /^VNC_RELAY_PROXY="ws:\/\/x" .*http: or https: URL\.$/],
      [{ JWT_SECRET: "short" }, /^JWT_SECRET is too short/],
    ];
    for (const [env, re] of cases) {
      assert.throws(
        () => loadConfig(env),
        (err: Error) => {
          assert.equal(err.name, "ConfigError");
          assert.match(err.message, re);
          assert.ok(!err.message.includes("\n"), "one line");
          return true;
        },
      );
    }
  });
});
