import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { z } from "zod";
import {
  bool,
  ConfigError,
  custom,
  duration,
  int,
  list,
  oneOf,
  parseDuration,
  parseEnv,
  port,
  str,
  url,
} from "./env.ts";

function fails(fn: () => unknown, message: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.match(e.message, message);
    assert.equal(e.message.includes("\n"), false, "one line");
    return true;
  });
}

describe("env", () => {
  test("parses a typed shape with defaults and optionals", () => {
    const cfg = parseEnv(
      {
        PORT: port().default(8080),
        HOST: str().default("0.0.0.0"),
        LOG_LEVEL: oneOf(["debug", "info", "warn", "error"]).default("info"),
        ENABLE_HA: bool().default(false),
        LEASE_DURATION: duration().default(15_000),
        REDIS_URL: url(["redis:", "rediss:"]).optional(),
        CONTROL_PLANE_URL: list(url(), { min: 1 }),
        MAX_SESSIONS: int(1, 100).default(10),
      },
      {
        PORT: "9000",
        LOG_LEVEL: "debug",
        ENABLE_HA: "YES",
        LEASE_DURATION: "1.5s",
        REDIS_URL: "",
        CONTROL_PLANE_URL: "http://a:1, http://b:2,",
      },
    );
    assert.deepEqual(cfg, {
      PORT: 9000,
      HOST: "0.0.0.0",
      LOG_LEVEL: "debug",
      ENABLE_HA: true,
      LEASE_DURATION: 1500,
      REDIS_URL: undefined,
      CONTROL_PLANE_URL: ["http://a:1", "http://b:2"],
      MAX_SESSIONS: 10,
    });
    const level: "debug" | "info" | "warn" | "error" = cfg.LOG_LEVEL;
    assert.ok(level);
  });

  test("errors name the variable, the value and what was expected, on one line", () => {
    fails(
      () => parseEnv({ PORT: port() }, { PORT: "eighty" }),
      /^PORT="eighty" is not valid: expected a whole number from 0 to 65535\.$/,
    );
    fails(
      () => parseEnv({ AGENT_ID: str() }, {}),
      /^AGENT_ID is required but not set: expected a non-empty value\.$/,
    );
    fails(() => parseEnv({ X: int(1, 5) }, { X: "6" }), /X="6" .* from 1 to 5/);
    fails(() => parseEnv({ X: int() }, { X: "1.5" }), /X="1.5"/);
    fails(
      () => parseEnv({ B: bool() }, { B: "maybe" }),
      /B="maybe" is not valid: expected true or false/,
    );
    fails(() => parseEnv({ L: oneOf(["a", "b"]) }, { L: "c" }), /expected one of a, b/);
    fails(() => parseEnv({ U: url(["redis:"]) }, { U: "http://x" }), /expected a redis:\/\/ URL/);
    fails(() => parseEnv({ U: url() }, { U: "nope" }), /U="nope"/);
    fails(
      () => parseEnv({ L: list(url(), { min: 1 }) }, { L: "http://a, ftp://b" }),
      /L=.* each a http:\/\/ or https:\/\/ URL/,
    );
    fails(() => parseEnv({ L: list(url(), { min: 1 }) }, { L: " , " }), /at least 1/);
    fails(
      () =>
        parseEnv({ S: str({ pattern: /^[a-z]+$/, expected: "lower-case letters" }) }, { S: "A" }),
      /expected lower-case letters/,
    );
  });

  test("a secret's value never appears in the error", () => {
    fails(
      () =>
        parseEnv(
          { JWT_SECRET: str({ pattern: /^.{32,}$/, expected: "at least 32 characters" }) },
          { JWT_SECRET: "hunter2" },
        ),
      /^JWT_SECRET is not valid: expected at least 32 characters\.$/,
    );
  });

  test("the first bad variable in shape order is reported", () => {
    fails(() => parseEnv({ A: int(), B: int() }, { A: "x", B: "y" }), /^A=/);
  });

  test("one duration syntax: ms, s, m, h, d; bare numbers only when a schema says so", () => {
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration("5m"), 300_000);
    assert.equal(parseDuration("2h"), 7_200_000);
    assert.equal(parseDuration("1d"), 86_400_000);
    assert.equal(parseDuration("30"), undefined);
    assert.equal(parseDuration("30", "s"), 30_000);
    assert.equal(parseDuration("-1s"), undefined);
    assert.equal(parseDuration("5 min"), undefined);
    fails(
      () => parseEnv({ T: duration() }, { T: "30" }),
      /T="30" is not valid: expected a duration such as 500ms, 30s, 5m, 2h or 1d\.$/,
    );
    assert.equal(parseEnv({ T: duration({ bareUnit: "s" }) }, { T: "30" }).T, 30_000);
    fails(() => parseEnv({ T: duration({ min: 1 }) }, { T: "0s" }), /at least 1 ms/);
  });

  test("custom formats and plain zod schemas fit in the same shape", () => {
    const cpu = custom('CPU cores such as "2" or "1500m"', (s) => {
      const m = /^(\d+)(m?)$/.exec(s);
      return m ? BigInt(m[2] ? Number(m[1]) : Number(m[1]) * 1000) : undefined;
    });
    const cfg = parseEnv({ MAX_CPU: cpu, N: z.string().optional() }, { MAX_CPU: "1500m" });
    assert.equal(cfg.MAX_CPU, 1500n);
    fails(() => parseEnv({ MAX_CPU: cpu }, { MAX_CPU: "lots" }), /CPU cores/);
  });

  test("ConfigError keeps the variable and can be thrown for cross-variable rules", () => {
    const e = ConfigError.invalid("RENEW_DEADLINE", "5s", "less than LEASE_DURATION (2000 ms)");
    assert.equal(e.variable, "RENEW_DEADLINE");
    assert.equal(
      e.message,
      'RENEW_DEADLINE="5s" is not valid: expected less than LEASE_DURATION (2000 ms).',
    );
    assert.equal(
      String(new ConfigError("AGENT_HUB_BACKEND=redis needs REDIS_URL.")),
      "ConfigError: AGENT_HUB_BACKEND=redis needs REDIS_URL.",
    );
  });
});

test("loadEnvOrExit prints the one line and exits with status 2", () => {
  const file = new URL("./env.ts", import.meta.url).href;
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "--eval",
      `import { loadEnvOrExit, port } from ${JSON.stringify(file)}; loadEnvOrExit({ PORT: port() }, process.env, "relay"); console.log("not reached");`,
    ],
    { env: { ...process.env, PORT: "x" }, encoding: "utf8" },
  );
  assert.equal(r.status, 2);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    'relay: PORT="x" is not valid: expected a whole number from 0 to 65535.\n',
  );
});
