import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Command,
  CommandSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { Platform } from "@streamspace/proto/streamspace/v1/types_pb";
import { createStaticRelayRingSource } from "../relay-ring/static-relay-ring-source.ts";
import { MemoryAgentRegistry } from "../store/memory-agent-registry.ts";
import { PgCommandStore } from "../store/pg-command-store.ts";
import { createTestDatabase, type TestDatabase } from "../store/test-database.ts";
import { AckBatcher } from "./ack-batcher.ts";
import { createGateway, type Gateway } from "./agent-gateway.ts";
import { commandDispatcher } from "./command-dispatcher.ts";
import {
  eventually,
  type GatewayServer,
  ScriptedAgent,
  startGatewayServer,
  untilRead,
} from "./gateway-test-kit.ts";
import type { CommandAckRecord } from "./outbox-claims.ts";

const BOOT = "boot";
const quiet = { info() {}, warn() {}, error() {} };

/** Records how many statements of each kind delivery ran. */
class CountingClaims extends PgCommandStore {
  readonly dueClaims: string[][] = [];
  readonly ackWrites: CommandAckRecord[][] = [];
  override claimDue(...a: Parameters<PgCommandStore["claimDue"]>) {
    this.dueClaims.push([...a[0]]);
    return super.claimDue(...a);
  }
  override acknowledge(acks: CommandAckRecord[]) {
    this.ackWrites.push([...acks]);
    return super.acknowledge(acks);
  }
}

let tdb: TestDatabase;
let outbox: CountingClaims;
let gw: Gateway;
let server: GatewayServer;
const commands = () => new PgCommandStore(tdb.db);
const turn = () => new Promise<void>((r) => setImmediate(r));

before(async () => {
  tdb = await createTestDatabase();
  outbox = new CountingClaims(tdb.db);
  gw = await createGateway({
    pod: "pod-a",
    registry: new MemoryAgentRegistry(),
    ring: createStaticRelayRingSource([]),
    bootstrapToken: BOOT,
    autoApprove: true,
    log: quiet,
    dispatcher: commandDispatcher({
      outbox,
      reports: { applyCommandResult: async () => undefined },
      batch: 4,
      // Long enough that nothing is redelivered on a timer while a test looks.
      ackTimeoutMs: 60_000,
      sweepEveryMs: 60_000,
      log: quiet,
    }),
  });
  server = await startGatewayServer(gw);
});
after(async () => {
  await server.close();
  await tdb[Symbol.asyncDispose]();
});

/**
 * Connects an agent and waits until the new stream's reconnect claim (which finds nothing) is
 * done: once the gateway reads a frame sent after Hello, that claim was requested, and idle()
 * waits for it to end.
 */
async function connect(agentId: string): Promise<ScriptedAgent> {
  const a = new ScriptedAgent(server.client, { "x-streamspace-bootstrap-token": BOOT });
  a.send({
    case: "hello",
    value: { agentId, platform: Platform.LOCAL, capacity: { maxSessions: 5 } },
  });
  await a.waitFor("welcome");
  await untilRead(gw, a, agentId);
  await gw.idle();
  return a;
}

/** Inserts n outbox rows for the agent, one after another (so created_at orders them). */
async function enqueue(agentId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  const deadline = new Date(Date.now() + 60_000);
  for (let i = 0; i < n; i++) {
    const id = crypto.randomUUID();
    const payload = toBinary(
      CommandSchema,
      create(CommandSchema, { commandId: id, deadline: timestampFromDate(deadline) }),
    );
    await commands().insert({ id, agentId, sessionId: null, kind: "drain", payload, deadline });
    ids.push(id);
  }
  return ids;
}

const commandIds = (a: ScriptedAgent): string[] =>
  a.received.flatMap((m) =>
    m.payload.case === "command" ? [(m.payload.value as Command).commandId] : [],
  );

describe("batched delivery", () => {
  test("pokes for many agents in one turn share one claim; each agent gets its own rows in order", async () => {
    const agents = await Promise.all(["b-1", "b-2", "b-3"].map(connect));
    const expected = new Map<string, string[]>();
    for (const id of ["b-1", "b-2", "b-3"]) expected.set(id, await enqueue(id, 3));
    const before = outbox.dueClaims.length;
    for (const id of ["b-1", "b-2", "b-3"]) gw.commandsEnqueued(id);
    for (const [i, a] of agents.entries()) {
      const want = expected.get(`b-${i + 1}`);
      await eventually(() => assert.deepEqual(commandIds(a), want));
    }
    // 9 rows over batch 4: the first claim is full, so one more claim picks up the rest.
    const claims = outbox.dueClaims.slice(before);
    assert.deepEqual(claims[0]?.sort(), ["b-1", "b-2", "b-3"]);
    assert.ok(claims.length <= 4, `claims: ${claims.length}`);
    for (const a of agents) await a[Symbol.asyncDispose]();
  });

  test("a backlog larger than one batch goes out in order, each command once", async () => {
    await using a = await connect("b-backlog");
    const ids = await enqueue("b-backlog", 10);
    gw.commandsEnqueued("b-backlog");
    await eventually(() => assert.deepEqual(commandIds(a), ids));
    const rows = await Promise.all(ids.map((id) => commands().get(id)));
    assert.deepEqual(
      rows.map((r) => r?.status),
      ids.map(() => "sent"),
    );
  });

  test("acks from several agents land in shared writes and move rows to acked", async () => {
    const agents = await Promise.all(["k-1", "k-2"].map(connect));
    const ids = [...(await enqueue("k-1", 2)), ...(await enqueue("k-2", 2))];
    gw.commandsEnqueued("k-1");
    gw.commandsEnqueued("k-2");
    await eventually(() => agents.every((a) => commandIds(a).length === 2));
    const writes = outbox.ackWrites.length;
    for (const a of agents) {
      for (const id of commandIds(a)) a.send({ case: "commandAck", value: { commandId: id } });
    }
    await eventually(async () => {
      const rows = await Promise.all(ids.map((id) => commands().get(id)));
      assert.deepEqual(
        rows.map((r) => r?.status),
        ["acked", "acked", "acked", "acked"],
      );
    });
    const acked = outbox.ackWrites.slice(writes).flat();
    assert.equal(acked.length, 4);
    assert.ok(outbox.ackWrites.length - writes < 4, "four acks took four writes");
    for (const a of agents) await a[Symbol.asyncDispose]();
  });
});

describe("PgCommandStore.acknowledge", () => {
  test("acks only sent or pending rows of the acking agent; late, foreign and malformed acks change nothing", async () => {
    const [sent, done] = await enqueue("x", 2);
    const [foreign] = await enqueue("y", 1);
    assert.ok(sent && done && foreign);
    await commands().setStatus(done, "completed");
    const ackDeadline = new Date(Date.now() + 60_000);
    for (const agentId of ["x", "y"]) {
      await commands().claim(agentId, { kind: "due" }, new Date(), ackDeadline, 10);
    }
    assert.equal((await commands().get(sent))?.status, "sent");
    assert.equal((await commands().get(foreign))?.status, "sent");
    const n = await commands().acknowledge([
      { agentId: "x", commandId: sent },
      { agentId: "x", commandId: done },
      { agentId: "x", commandId: foreign },
      { agentId: "x", commandId: "not-a-uuid" },
    ]);
    assert.equal(n, 1);
    assert.equal((await commands().get(sent))?.status, "acked");
    assert.equal((await commands().get(done))?.status, "completed");
    assert.equal((await commands().get(foreign))?.status, "sent");
  });
});

describe("PgCommandStore.claimDue carrying acks", () => {
  test("applies the acks like acknowledge() and never claims an acked row, even a due one", async () => {
    const [acked, due, foreign] = [...(await enqueue("f-1", 2)), ...(await enqueue("f-2", 1))];
    assert.ok(acked && due && foreign);
    // All three sent with an ack deadline already past: each is due again.
    const past = new Date(Date.now() - 1_000);
    for (const agentId of ["f-1", "f-2"])
      await commands().claim(agentId, { kind: "due" }, new Date(), past, 10);
    const rows = await commands().claimDue(
      ["f-1", "f-2"],
      new Date(),
      new Date(Date.now() + 60_000),
      10,
      [
        { agentId: "f-1", commandId: acked },
        { agentId: "f-1", commandId: foreign },
        { agentId: "f-1", commandId: "not-a-uuid" },
      ],
    );
    assert.deepEqual(rows.map((r) => r.id).sort(), [due, foreign].sort());
    assert.equal((await commands().get(acked))?.status, "acked");
    assert.equal((await commands().get(due))?.status, "sent");
    assert.equal((await commands().get(foreign))?.status, "sent", "another agent's row");
  });

  test("with no agents to claim for, it still writes the acks", async () => {
    const [id] = await enqueue("f-3", 1);
    assert.ok(id);
    await commands().claim("f-3", { kind: "due" }, new Date(), new Date(Date.now() + 60_000), 10);
    const rows = await commands().claimDue([], new Date(), new Date(), 10, [
      { agentId: "f-3", commandId: id },
    ]);
    assert.deepEqual(rows, []);
    assert.equal((await commands().get(id))?.status, "acked");
  });
});

describe("AckBatcher", () => {
  test("acks that arrive while a write is in flight share the next write", async () => {
    const writes: CommandAckRecord[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const b = new AckBatcher(
      {
        acknowledge: async (acks) => {
          writes.push(acks);
          if (writes.length === 1) await gate;
          return acks.length;
        },
      },
      quiet,
    );
    await b.add({ agentId: "a", commandId: "1" });
    await eventually(() => writes.length === 1);
    for (const id of ["2", "3", "4"]) await b.add({ agentId: "a", commandId: id });
    assert.equal(writes.length, 1);
    release();
    await b.idle();
    assert.deepEqual(
      writes.map((w) => w.map((x) => x.commandId)),
      [["1"], ["2", "3", "4"]],
    );
  });

  test("a full buffer makes add() wait for the write; a failed write is logged, not thrown", async () => {
    const warned: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const b = new AckBatcher(
      {
        acknowledge: async () => {
          calls++;
          await gate;
          throw new Error("database down");
        },
      },
      { ...quiet, warn: (m) => warned.push(m) },
      2,
    );
    await b.add({ agentId: "a", commandId: "1" });
    let waited = false;
    const full = b.add({ agentId: "a", commandId: "2" }).then(() => {
      waited = true;
    });
    // Only the gate ends the write, so nothing a turn of the event loop runs can resolve add().
    await turn();
    assert.equal(waited, false, "add() on a full buffer waits for the write in flight");
    assert.equal(b.busy, true);
    release();
    await full;
    await b.idle();
    assert.ok(calls >= 1);
    assert.ok(warned.length >= 1);
  });
});
