import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { RelayRingSchema } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { Platform, SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { FakeDriver } from "../testing/fake-driver.ts";
import { FakeGateway } from "../testing/fake-gateway.ts";
import { is, makeRuntime, startCommand, welcome } from "../testing/runtime-fixture.ts";
import type { RelayHook } from "./relay-hook.ts";

describe("agent runtime against a fake AgentGateway", () => {
  test("Hello carries identity, capacity and the full inventory; heartbeats follow Welcome", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver([
      { sessionId: "s-old", state: "hibernated", endpoint: { host: "127.0.0.1", port: 5999 } },
    ]);
    await using _rt = makeRuntime(gw, driver);
    const s = await gw.nextStream();
    assert.equal(s.headers.get("authorization"), "Bearer cred-abc");
    const hello = await s.waitFor(is("hello"));
    assert.equal(hello.payload.case, "hello");
    if (hello.payload.case !== "hello") return;
    assert.equal(hello.payload.value.agentId, "agent-1");
    assert.equal(hello.payload.value.platform, Platform.LOCAL);
    assert.equal(hello.payload.value.region, "eu-test");
    assert.equal(hello.payload.value.capacity?.maxSessions, 3);
    assert.equal(hello.payload.value.labels.gpu, "none");
    assert.deepEqual(
      hello.payload.value.sessions.map((r) => [r.sessionId, r.state, r.vncEndpoint]),
      [["s-old", SessionState.HIBERNATED, "127.0.0.1:5999"]],
    );
    assert.equal(s.count("heartbeat"), 0, "no heartbeat before Welcome");
    welcome(s, 50);
    await eventuallyFound(() => s.count("heartbeat") >= 3, { what: "three heartbeats" });
  });

  test("heartbeats say why the platform takes no sessions, and stop saying it once it does", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver();
    driver.problem = "the Docker engine at unix:///x.sock does not answer (ENOENT)";
    await using _rt = makeRuntime(gw, driver);
    const s = await gw.nextStream();
    welcome(s, 50);
    const beat = await s.waitFor(is("heartbeat"));
    assert.equal(beat.payload.case, "heartbeat");
    if (beat.payload.case !== "heartbeat") return;
    assert.equal(beat.payload.value.platformProblem, driver.problem);
    driver.problem = undefined;
    await eventuallyFound(
      () =>
        s.received.some(
          (m) => m.payload.case === "heartbeat" && m.payload.value.platformProblem === "",
        ),
      { what: "a heartbeat without the problem" },
    );
  });

  test("a slow start does not delay heartbeats; ack is immediate, result follows", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver();
    driver.startDelayMs = 1_000;
    await using _rt = makeRuntime(gw, driver);
    const s = await gw.nextStream();
    welcome(s, 50);
    await s.waitFor(is("heartbeat"));
    s.send(startCommand("c1", "s1"));
    await s.waitFor(is("commandAck", "c1"));
    assert.ok(!s.received.some(is("commandResult", "c1")), "ack comes before the work finishes");
    const beatsAtAck = s.count("heartbeat");
    const result = await s.waitFor(is("commandResult", "c1"));
    const beatsDuring = s.count("heartbeat") - beatsAtAck;
    assert.ok(
      beatsDuring >= 5,
      `heartbeats continued during the slow start (${beatsDuring} in 1 s at 50 ms)`,
    );
    assert.equal(result.payload.case, "commandResult");
    if (result.payload.case !== "commandResult") return;
    assert.equal(result.payload.value.success, true);
    assert.equal(result.payload.value.session?.state, SessionState.RUNNING);
    assert.match(result.payload.value.session?.vncEndpoint ?? "", /^127\.0\.0\.1:\d+$/);
  });

  test("a redelivered command runs once and gets the same result again", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver();
    driver.startDelayMs = 100;
    await using _rt = makeRuntime(gw, driver);
    const s = await gw.nextStream();
    welcome(s);
    s.send(startCommand("c-dup", "s-dup"));
    s.send(startCommand("c-dup", "s-dup")); // while in flight
    const first = await s.waitFor(is("commandResult", "c-dup"));
    const idx = s.received.indexOf(first) + 1;
    s.send(startCommand("c-dup", "s-dup")); // after it finished
    const second = await s.waitFor(is("commandResult", "c-dup"), WAIT.medium, idx);
    assert.deepEqual(second, first);
    assert.equal(driver.calls.filter((c) => c.op === "start").length, 1);
    assert.ok(s.count("commandAck") >= 3, "every delivery is acked");
  });

  test("after the server drops the stream the agent redials and says what it finished", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver();
    await using _rt = makeRuntime(gw, driver);
    const s1 = await gw.nextStream();
    welcome(s1);
    s1.send(startCommand("c-before", "s-x"));
    await s1.waitFor(is("commandResult", "c-before"));
    const dropped = Date.now();
    s1.end();
    const s2 = await gw.nextStream();
    const hello = await s2.waitFor(is("hello"));
    assert.ok(Date.now() - dropped < WAIT.long, "redialled (a hang guard; speed is the backoff's)");
    if (hello.payload.case !== "hello") return;
    assert.deepEqual(hello.payload.value.completedCommandIds, ["c-before"]);
    assert.deepEqual(
      hello.payload.value.sessions.map((r) => r.sessionId),
      ["s-x"],
    );
    // Reconnect with a delay is obeyed too.
    welcome(s2);
    s2.send({
      payload: { case: "reconnect", value: { delay: durationFromMs(300), reason: "pod draining" } },
    });
    const asked = Date.now();
    const s3 = await gw.nextStream();
    await s3.waitFor(is("hello"));
    assert.ok(Date.now() - asked >= 250, "the requested delay is respected");
  });

  test("an unreachable control plane is retried with backoff, then reached", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver();
    const dead = "http://127.0.0.1:1";
    await using _rt = makeRuntime(gw, driver, { urls: [dead, dead, gw.url] });
    const s = await gw.nextStream();
    await s.waitFor(is("hello"));
  });

  test("deadline, capacity, drain, bad commands and session events", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver();
    const rings: bigint[] = [];
    const seen: string[][] = [];
    const relay: RelayHook = {
      updateRing: (r) => rings.push(r.epoch),
      sessionsChanged: (m) => seen.push([...m.keys()]),
      close: async () => {},
    };
    await using _rt = makeRuntime(gw, driver, { relay });
    const s = await gw.nextStream();
    welcome(s, 1000, create(RelayRingSchema, { epoch: 7n }));
    s.send({ payload: { case: "ringUpdate", value: { ring: { epoch: 8n } } } });
    await eventuallyFound(() => rings.length === 2, { what: "ring updates" });
    assert.deepEqual(rings, [7n, 8n]);

    driver.hang = true;
    s.send(startCommand("c-late", "s-hang", 200));
    const late = await s.waitFor(is("commandResult", "c-late"));
    driver.hang = false;
    if (late.payload.case !== "commandResult") return;
    assert.equal(late.payload.value.success, false);
    assert.match(late.payload.value.errorMessage, /deadline/);

    s.send({ payload: { case: "command", value: { commandId: "" } } }); // ignored, no crash
    s.send({ payload: { case: "command", value: { commandId: "c-empty" } } });
    const empty = await s.waitFor(is("commandResult", "c-empty"));
    if (empty.payload.case === "commandResult")
      assert.match(empty.payload.value.errorMessage, /no action/);

    for (const n of [1, 2, 3]) s.send(startCommand(`c-cap${n}`, `s-cap${n}`));
    await s.waitFor(is("commandResult", "c-cap3"));
    s.send(startCommand("c-cap4", "s-cap4"));
    const full = await s.waitFor(is("commandResult", "c-cap4"));
    if (full.payload.case === "commandResult")
      assert.match(full.payload.value.errorMessage, /capacity/);
    assert.ok(seen.at(-1)?.includes("s-cap3"), "relay hook learns about live sessions");

    s.send({
      payload: {
        case: "command",
        value: {
          commandId: "c-stop",
          action: { case: "stopSession", value: { sessionId: "s-cap1" } },
        },
      },
    });
    await s.waitFor(is("commandResult", "c-stop"));
    s.send({
      payload: {
        case: "command",
        value: { commandId: "c-drain", action: { case: "drain", value: {} } },
      },
    });
    await s.waitFor(is("commandResult", "c-drain"));
    s.send(startCommand("c-after-drain", "s-new"));
    const drained = await s.waitFor(is("commandResult", "c-after-drain"));
    if (drained.payload.case === "commandResult")
      assert.match(drained.payload.value.errorMessage, /draining/);

    driver.exit("s-cap2");
    const ev = await s.waitFor((m) => m.payload.case === "sessionEvent");
    if (ev.payload.case === "sessionEvent") {
      assert.equal(ev.payload.value.session?.sessionId, "s-cap2");
      assert.equal(ev.payload.value.session?.state, SessionState.STOPPED);
    }
  });

  test("CredentialIssued is persisted and used on the next dial", async () => {
    await using gw = await FakeGateway.start();
    const saved: string[] = [];
    await using _rt = makeRuntime(gw, new FakeDriver(), {
      credential: undefined,
      bootstrapToken: "boot-1",
      onCredential: async (c) => {
        saved.push(c);
      },
    });
    const s1 = await gw.nextStream();
    assert.equal(s1.headers.get("x-streamspace-bootstrap-token"), "boot-1");
    welcome(s1);
    s1.send({ payload: { case: "credentialIssued", value: { credential: "fresh-cred" } } });
    await eventuallyFound(() => saved.length === 1, { what: "credential saved" });
    s1.end();
    const s2 = await gw.nextStream();
    assert.equal(s2.headers.get("authorization"), "Bearer fresh-cred");
  });
});
