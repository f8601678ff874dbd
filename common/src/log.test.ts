import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createLogger, isSecretKey, type LogLevel, silentLogger } from "./log.ts";

function capture(level?: LogLevel, base?: object) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level, base, destination: (l) => lines.push(JSON.parse(l)) });
  return { log, lines };
}

describe("log", () => {
  test("one JSON line per call: time, level label, msg, base and fields", () => {
    const { log, lines } = capture("info", { service: "relay" });
    log.info("listening", { port: 8081 });
    assert.equal(lines.length, 1);
    const [l] = lines;
    assert.equal(l?.level, "info");
    assert.equal(l?.msg, "listening");
    assert.equal(l?.service, "relay");
    assert.equal(l?.port, 8081);
    assert.match(String(l?.time), /^\d{4}-\d\d-\d\dT/);
    assert.equal("pid" in (l ?? {}), false, "no pino defaults beyond what we set");
  });

  test("levels below the threshold are dropped", () => {
    const { log, lines } = capture("warn");
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    assert.deepEqual(
      lines.map((l) => l.level),
      ["warn", "error"],
    );
  });

  test("child loggers add their fields to every line and keep the parent's", () => {
    const { log, lines } = capture("debug", { pod: "p1" });
    const c = log.child({ agentId: "a1" }).child({ sessionId: "s1" });
    c.debug("started", { n: 1 });
    assert.equal(lines[0]?.pod, "p1");
    assert.equal(lines[0]?.agentId, "a1");
    assert.equal(lines[0]?.sessionId, "s1");
    assert.equal(lines[0]?.level, "debug");
  });

  test("secrets are censored by key, at any depth, in children and base too", () => {
    const { log, lines } = capture("info", { jwtSecret: "base-secret" });
    log.child({ bootstrapToken: "child-tok" }).info("config", {
      password: "p",
      DB_PASSWORD: "p2",
      headers: {
        authorization: "Bearer abc",
        cookie: "sid=1",
        "x-streamspace-bootstrap-token": "t",
      },
      apiKey: "k",
      api_key: "k2",
      credential: { id: "c" },
      nested: [{ refreshToken: "r" }],
      keep: "visible",
      token: undefined,
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of [
      "base-secret",
      "child-tok",
      '"p"',
      "p2",
      "abc",
      "sid=1",
      '"t"',
      '"k"',
      "k2",
      '"c"',
      '"r"',
    ])
      assert.equal(text.includes(secret), false, `${secret} leaked: ${text}`);
    assert.equal(lines[0]?.keep, "visible");
    assert.equal(lines[0]?.password, "[redacted]");
  });

  test("passwords in URLs and tokens in query strings are censored", () => {
    const { log, lines } = capture();
    log.info("dial", {
      url: "postgres://user:hunter2@db:5432/x",
      path: "/vnc/s1?token=eyJhbGc.x.y&mode=view",
    });
    assert.equal(lines[0]?.url, "postgres://user:[redacted]@db:5432/x");
    assert.equal(lines[0]?.path, "/vnc/s1?token=[redacted]&mode=view");
  });

  test("bigints become strings", () => {
    const { log, lines } = capture();
    log.info("ring", { epoch: 12345678901234567890n, list: [1n] });
    assert.equal(lines[0]?.epoch, "12345678901234567890");
    assert.deepEqual(lines[0]?.list, ["1"]);
  });

  test("errors keep name, message, stack, own fields and the cause chain", () => {
    const { log, lines } = capture();
    const root = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const err = new TypeError("dial relay", { cause: new Error("reserve", { cause: root }) });
    log.error("failed", { err });
    type E = { name: string; message: string; stack: string; code?: string; cause: E };
    const e = lines[0]?.err as E;
    assert.equal(e.name, "TypeError");
    assert.equal(e.message, "dial relay");
    assert.match(e.stack, /log\.test\.ts/);
    assert.equal(e.cause.message, "reserve");
    assert.equal(e.cause.cause.message, "connect ECONNREFUSED");
    assert.equal(e.cause.cause.code, "ECONNREFUSED");
  });

  test("cycles and deep nesting do not break a line", () => {
    const { log, lines } = capture();
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    let deep: Record<string, unknown> = {};
    const top = deep;
    for (let i = 0; i < 20; i++) deep = deep.next = {};
    log.info("odd", { a, top });
    const a0 = lines[0]?.a as Record<string, unknown> | undefined;
    assert.equal(a0?.self, "[circular]");
    assert.match(JSON.stringify(lines[0]?.top), /nested too deep/);
  });

  test("isSecretKey matches by suffix, case and separator insensitive", () => {
    for (const k of ["Authorization", "set-cookie", "AGENT_BOOTSTRAP_TOKEN", "clientSecret", "jwt"])
      assert.ok(isSecretKey(k), k);
    for (const k of ["tokenTtlMs", "sessionId", "port", "keyId"])
      assert.equal(isSecretKey(k), false, k);
  });

  test("silentLogger accepts everything and writes nothing", () => {
    silentLogger.child({ a: 1 }).error("x", { err: new Error("e") });
  });
});
