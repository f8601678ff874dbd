import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Command,
  CommandSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { Platform, SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { createPgGateway } from "../app/pg-gateway.ts";
import { createStaticRelayRingSource } from "../relay-ring/static-relay-ring-source.ts";
import { PgCommandStore } from "../store/pg-command-store.ts";
import {
  addAgent,
  addTemplate,
  type CoreFixture,
  createCoreFixture,
  who,
} from "../store/test-kit.ts";
import type { Gateway } from "./agent-gateway.ts";
import {
  eventually,
  type GatewayServer,
  ScriptedAgent,
  startGatewayServer,
  untilRead,
} from "./gateway-test-kit.ts";

const BOOT = "boot";
const quiet = { info() {}, warn() {}, error() {} };
/** Long, so a command is only redelivered when a test moves the clock past its ack deadline. */
const ACK_TIMEOUT_MS = 30_000;
/** The gateway's clock runs ahead of the wall clock by this much; tests only ever add to it. */
let ahead = 0;
/** Moves the gateway's clock past every ack deadline set so far. */
const passAckDeadlines = () => {
  ahead += ACK_TIMEOUT_MS + 1_000;
};
let f: CoreFixture;
let gw: Gateway;
let server: GatewayServer;

before(async () => {
  f = await createCoreFixture({ notifier: { commandsEnqueued: (id) => gw?.commandsEnqueued(id) } });
  gw = await createPgGateway({
    db: f.tdb.db,
    reports: f.reports,
    commands: f.store.commands,
    pod: "pod-a",
    ring: createStaticRelayRingSource([]),
    bootstrapToken: BOOT,
    autoApprove: true,
    ackTimeoutMs: ACK_TIMEOUT_MS,
    dispatchSweepMs: 50,
    // Streams must outlive the clock jumps above; heartbeats are not what this file tests.
    heartbeatTimeoutMs: 3_600_000,
    now: () => Date.now() + ahead,
    log: quiet,
  });
  server = await startGatewayServer(gw);
  await addTemplate(f, "demo");
});
after(async () => {
  await server.close();
  await f[Symbol.asyncDispose]();
});

async function connect(
  agentId: string,
  sessions: { sessionId: string; state: SessionState }[] = [],
) {
  const a = new ScriptedAgent(server.client, { "x-streamspace-bootstrap-token": BOOT });
  a.send({
    case: "hello",
    value: { agentId, platform: Platform.LOCAL, capacity: { maxSessions: 5 }, sessions },
  });
  await a.waitFor("welcome");
  return a;
}

const commandsFor = (a: ScriptedAgent): Command[] =>
  a.received.flatMap((m) => (m.payload.case === "command" ? [m.payload.value] : []));
const row = (id: string) => f.store.commands.get(id);

describe("delivery from the outbox", () => {
  test("a new session's StartSession reaches the agent; ack and result update command and session", async () => {
    await using a = await connect("agent-1");
    const s = await f.sessions.create(who.alice, { template: "demo" });
    assert.equal(s.agentId, "agent-1");
    const cmd = await a.waitFor("command");
    assert.equal(cmd.action.case, "startSession");
    assert.equal((await row(cmd.commandId))?.status, "sent");
    a.send({ case: "commandAck", value: { commandId: cmd.commandId } });
    await eventually(async () => assert.equal((await row(cmd.commandId))?.status, "acked"));
    a.send({
      case: "commandResult",
      value: {
        commandId: cmd.commandId,
        success: true,
        session: { sessionId: s.id, state: SessionState.RUNNING, vncEndpoint: "127.0.0.1:5901" },
      },
    });
    await eventually(async () =>
      assert.equal((await f.store.sessions.get(s.id))?.state, "running"),
    );
    assert.equal((await row(cmd.commandId))?.status, "completed");
    // A duplicate result (at-least-once) changes nothing.
    a.send({ case: "commandResult", value: { commandId: cmd.commandId, success: false } });
    await untilRead(gw, a, "agent-1");
    assert.equal((await row(cmd.commandId))?.status, "completed");
    assert.equal(commandsFor(a).length, 1);
  });

  test("an unacknowledged command is sent again after its ack deadline, with the same id", async () => {
    await using a = await connect("agent-2");
    await f.sessions.create(who.alice, { template: "demo" });
    const first = await a.waitFor("command");
    passAckDeadlines();
    const again = await a.waitFor("command", 1);
    assert.equal(again.commandId, first.commandId);
    a.send({ case: "commandAck", value: { commandId: first.commandId } });
    await eventually(async () => assert.equal((await row(first.commandId))?.status, "acked"));
    // Every send of the row (attempts) has reached the agent before counting.
    const attempts = (await row(first.commandId))?.attempts ?? 0;
    await eventually(() => commandsFor(a).length === attempts);
    const n = commandsFor(a).length;
    // Past the new ack deadline too, and a claim for this agent runs: the acked row stays put.
    passAckDeadlines();
    gw.commandsEnqueued("agent-2");
    await gw.idle();
    assert.equal((await row(first.commandId))?.attempts, attempts);
    assert.equal(commandsFor(a).length, n, "acked commands are not resent on the same stream");
  });

  test("a reconnecting agent gets sent and acked commands again", async () => {
    const a = await connect("agent-3");
    await f.sessions.create(who.alice, { template: "demo" });
    const cmd = await a.waitFor("command");
    a.send({ case: "commandAck", value: { commandId: cmd.commandId } });
    await eventually(async () => assert.equal((await row(cmd.commandId))?.status, "acked"));
    await a[Symbol.asyncDispose]();
    await using b = await connect("agent-3");
    const again = await b.waitFor("command");
    assert.equal(again.commandId, cmd.commandId);
    assert.equal((await row(cmd.commandId))?.status, "acked");
  });

  test("a command whose agent stays away past its deadline fails, and the session says why", async () => {
    const a = await connect("agent-4");
    await a[Symbol.asyncDispose]();
    await eventually(async () =>
      assert.equal((await f.store.agents.get("agent-4"))?.state, "offline"),
    );
    // The agent is offline, so schedule by hand: a session row and an already-expired command.
    await f.tdb.db
      .updateTable("agents")
      .set({ state: "online" })
      .where("id", "=", "agent-4")
      .execute();
    const s = await f.sessions.create(who.bob, { template: "demo" });
    await f.tdb.db
      .updateTable("agents")
      .set({ state: "offline" })
      .where("id", "=", "agent-4")
      .execute();
    assert.equal(s.agentId, "agent-4");
    await f.tdb.db
      .updateTable("agent_commands")
      .set({ deadline: new Date(Date.now() - 1000) })
      .where("session_id", "=", s.id)
      .execute();
    await eventually(async () => {
      const cur = await f.store.sessions.get(s.id);
      assert.equal(cur?.state, "failed");
      assert.match(cur?.stateReason ?? "", /did not finish this command before its deadline/);
    });
  });

  test("two claimers never take the same row in one attempt", async () => {
    const agentId = "agent-claims";
    await addAgent(f, { id: agentId });
    // Far beyond the gateway's clock (it runs ahead), so its sweep never expires these rows.
    const deadline = new Date(Date.now() + 3_600_000);
    for (let i = 0; i < 200; i++) {
      const id = crypto.randomUUID();
      const payload = toBinary(
        CommandSchema,
        create(CommandSchema, { commandId: id, deadline: timestampFromDate(deadline) }),
      );
      await f.store.commands.insert({
        id,
        agentId,
        sessionId: null,
        kind: "drain",
        payload,
        deadline,
      });
    }
    const a = new PgCommandStore(f.tdb.db);
    const b = new PgCommandStore(f.tdb.db);
    const now = new Date();
    const ack = new Date(Date.now() + 60_000);
    const got = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).claim(agentId, { kind: "due" }, now, ack, 40),
      ),
    );
    const ids = got.flat().map((c) => c.id);
    assert.equal(ids.length, 200);
    assert.equal(new Set(ids).size, 200);
  });
});

describe("reconciliation on Hello", () => {
  test("unknown sessions are stopped on the agent; live sessions it lacks are failed as lost", async () => {
    await using a = await connect("agent-5");
    const s = await f.sessions.create(who.alice, { template: "demo" });
    const start = await a.waitFor("command");
    a.send({
      case: "commandResult",
      value: {
        commandId: start.commandId,
        success: true,
        session: { sessionId: s.id, state: SessionState.RUNNING },
      },
    });
    await eventually(async () =>
      assert.equal((await f.store.sessions.get(s.id))?.state, "running"),
    );
    await a[Symbol.asyncDispose]();
    const stranger = crypto.randomUUID();
    await using b = await connect("agent-5", [
      { sessionId: stranger, state: SessionState.RUNNING },
    ]);
    const stop = await b.waitFor("command");
    assert.equal(stop.action.case, "stopSession");
    assert.equal(stop.action.case === "stopSession" && stop.action.value.sessionId, stranger);
    await eventually(async () => {
      const cur = await f.store.sessions.get(s.id);
      assert.equal(cur?.state, "failed");
      assert.match(cur?.stateReason ?? "", /lost/);
    });
  });

  test("a reported state difference is applied (the agent is right about what runs)", async () => {
    await using a = await connect("agent-6");
    const s = await f.sessions.create(who.alice, { template: "demo" });
    await a.waitFor("command");
    await a[Symbol.asyncDispose]();
    await using b = await connect("agent-6", [{ sessionId: s.id, state: SessionState.RUNNING }]);
    await eventually(async () =>
      assert.equal((await f.store.sessions.get(s.id))?.state, "running"),
    );
    assert.ok(b.received.length >= 1);
  });
});
