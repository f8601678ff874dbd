import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { CommandSchema } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import {
  addAgent,
  addTemplate,
  type CoreFixture,
  createCoreFixture,
  who,
} from "../store/test-kit.ts";
import { DomainError, type DomainErrorCode } from "./errors.ts";

const rejects = (code: DomainErrorCode, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof DomainError, `expected DomainError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (re) assert.match(e.message, re);
  return true;
};

let f: CoreFixture;
const notified: string[] = [];
before(async () => {
  f = await createCoreFixture({ notifier: { commandsEnqueued: (id) => notified.push(id) } });
  await addAgent(f, { id: "agent-1", maxSessions: 5 });
  await addTemplate(f, "demo");
});
after(async () => f[Symbol.asyncDispose]());

const commandsOf = (sessionId: string) =>
  f.tdb.db
    .selectFrom("agent_commands")
    .selectAll()
    .where("session_id", "=", sessionId)
    .orderBy("created_at")
    .execute();

describe("create", () => {
  test("schedules, writes the event and a StartSession outbox row, and notifies after commit", async () => {
    notified.length = 0;
    const s = await f.sessions.create(who.alice, { template: "demo", displayName: "mine" });
    assert.equal(s.state, "scheduled");
    assert.equal(s.agentId, "agent-1");
    assert.equal(s.ownerId, who.alice.kind === "user" ? who.alice.userId : "");
    assert.equal(s.version, 1);
    const cmds = await commandsOf(s.id);
    assert.equal(cmds.length, 1);
    assert.equal(cmds[0]?.kind, "start_session");
    assert.equal(cmds[0]?.status, "pending");
    const cmd = fromBinary(CommandSchema, new Uint8Array(cmds[0]?.payload ?? []));
    assert.equal(cmd.commandId, cmds[0]?.id);
    assert.equal(cmd.action.case, "startSession");
    if (cmd.action.case === "startSession") {
      assert.equal(cmd.action.value.sessionId, s.id);
      assert.equal(cmd.action.value.template?.name, "demo");
    }
    const events = await f.tdb.db
      .selectFrom("session_events")
      .selectAll()
      .where("session_id", "=", s.id)
      .execute();
    assert.equal(events.length, 1);
    assert.equal(events[0]?.to_state, "scheduled");
    assert.deepEqual(notified, ["agent-1"]);
    assert.equal((await f.store.agents.get("agent-1"))?.activeSessions, 1);
  });

  test("anonymous callers must sign in", async () => {
    await assert.rejects(
      f.sessions.create(who.anonymous, { template: "demo" }),
      rejects("unauthenticated"),
    );
  });

  test("unknown template is not_found with a hint", async () => {
    await assert.rejects(
      f.sessions.create(who.alice, { template: "nope" }),
      rejects("not_found", /Template nope does not exist; ListTemplates/),
    );
  });

  test("empty or oversized input is invalid_argument naming the field", async () => {
    await assert.rejects(
      f.sessions.create(who.alice, { template: "" }),
      rejects("invalid_argument", /^template: /),
    );
    await assert.rejects(
      f.sessions.create(who.alice, { template: "demo", displayName: "x".repeat(500) }),
      rejects("invalid_argument", /^display_name: must be at most 128/),
    );
    await assert.rejects(
      f.sessions.create(who.alice, { template: "demo", labels: { "bad key!": "v" } }),
      rejects("invalid_argument", /^labels/),
    );
  });

  test("a failure after the outbox insert leaves no session, no command and no reservation", async () => {
    const before = (await f.store.agents.get("agent-1"))?.activeSessions;
    const countCmds = async () =>
      Number(
        (
          await f.tdb.db
            .selectFrom("agent_commands")
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const countSessions = async () =>
      Number(
        (
          await f.tdb.db
            .selectFrom("sessions")
            .select((eb) => eb.fn.countAll<string>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const [c0, s0] = [await countCmds(), await countSessions()];
    // A trigger that fails right after the outbox row is written, inside the same statement.
    await f.tdb.exec(`CREATE FUNCTION fail_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'crash after outbox insert'; END $$`);
    await f.tdb.exec(`CREATE TRIGGER fail_outbox AFTER INSERT ON agent_commands
      FOR EACH ROW EXECUTE FUNCTION fail_outbox()`);
    try {
      await assert.rejects(
        f.sessions.create(who.alice, { template: "demo" }),
        /crash after outbox insert/,
      );
    } finally {
      await f.tdb.exec("DROP TRIGGER fail_outbox ON agent_commands");
      await f.tdb.exec("DROP FUNCTION fail_outbox()");
    }
    assert.equal(await countCmds(), c0);
    assert.equal(await countSessions(), s0);
    assert.equal((await f.store.agents.get("agent-1"))?.activeSessions, before);
  });
});

describe("transitions", () => {
  test("hibernate, wake and stop each write one command in the transition", async () => {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    await f.store.sessions.update(s.id, s.version, { state: "running", stateReason: "" });
    const h = await f.sessions.hibernate(who.alice, { id: s.id });
    assert.equal(h.state, "hibernating");
    await assert.rejects(
      f.sessions.wake(who.alice, { id: s.id }),
      rejects(
        "failed_precondition",
        new RegExp(`Session ${s.id} is hibernating; only hibernated sessions can be woken\\.`),
      ),
    );
    await f.store.sessions.update(s.id, h.version, { state: "hibernated", stateReason: "" });
    const w = await f.sessions.wake(who.alice, { id: s.id });
    assert.equal(w.state, "waking");
    const st = await f.sessions.stop(who.alice, { id: s.id });
    assert.equal(st.state, "stopping");
    const kinds = (await commandsOf(s.id)).map((c) => c.kind);
    assert.deepEqual(kinds, ["start_session", "hibernate_session", "wake_session", "stop_session"]);
    // Stop is idempotent while stopping: no second command.
    await f.sessions.stop(who.alice, { id: s.id });
    assert.equal((await commandsOf(s.id)).length, 4);
  });

  test("hibernating a stopped session and waking a running one are failed_precondition", async () => {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    await f.store.sessions.update(s.id, s.version, { state: "running", stateReason: "" });
    await assert.rejects(
      f.sessions.wake(who.alice, { id: s.id }),
      rejects("failed_precondition", /only hibernated sessions can be woken/),
    );
    const cur = await f.store.sessions.get(s.id);
    await f.store.sessions.update(s.id, cur?.version ?? 0, { state: "stopped", stateReason: "" });
    await assert.rejects(
      f.sessions.hibernate(who.alice, { id: s.id }),
      rejects(
        "failed_precondition",
        new RegExp(`^Session ${s.id} is stopped; only running sessions can be hibernated\\.$`),
      ),
    );
  });

  test("malformed ids are invalid_argument; unknown ids not_found", async () => {
    for (const id of ["", "s-123", "'; drop table sessions; --", "x".repeat(300)]) {
      await assert.rejects(
        f.sessions.get(who.alice, { id }),
        rejects("invalid_argument", /^id: must be a session id/),
      );
    }
    await assert.rejects(
      f.sessions.stop(who.alice, { id: "00000000-0000-4000-8000-000000000000" }),
      rejects("not_found"),
    );
  });
});

describe("ownership", () => {
  test("another user's session is not_found (existence is not leaked); operators and admins see it", async () => {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    await assert.rejects(
      f.sessions.get(who.bob, { id: s.id }),
      rejects("not_found", /does not exist or is not yours/),
    );
    await assert.rejects(f.sessions.stop(who.bob, { id: s.id }), rejects("not_found"));
    await assert.rejects(f.sessions.delete(who.bob, { id: s.id }), rejects("not_found"));
    assert.equal((await f.sessions.get(who.operator, { id: s.id })).id, s.id);
    assert.equal((await f.sessions.get(who.admin, { id: s.id })).id, s.id);
  });

  test("a user listing someone else's sessions is permission_denied; their own list has only theirs", async () => {
    await assert.rejects(
      f.sessions.list(who.bob, { ownerId: "u-alice" }),
      rejects("permission_denied"),
    );
    const mine = await f.sessions.list(who.bob, {});
    assert.ok(mine.sessions.every((s) => s.ownerId === "u-bob"));
    const all = await f.sessions.list(who.operator, { ownerId: "u-alice" });
    assert.ok(all.sessions.length > 0);
  });
});

describe("delete", () => {
  test("a live session is stopped first and removed when the agent reports stopped", async () => {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    await f.sessions.delete(who.alice, { id: s.id });
    const cur = await f.store.sessions.get(s.id);
    assert.equal(cur?.state, "stopping");
    assert.equal(cur?.deleteRequested, true);
    const stop = (await commandsOf(s.id)).find((c) => c.kind === "stop_session");
    assert.ok(stop);
    const { create } = await import("@bufbuild/protobuf");
    const { CommandResultSchema, SessionReportSchema } = await import(
      "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb"
    );
    const { SessionState } = await import("@streamspace/proto/streamspace/v1/types_pb");
    const out = await f.reports.applyCommandResult(
      "agent-1",
      create(CommandResultSchema, {
        commandId: stop.id,
        success: true,
        session: create(SessionReportSchema, { sessionId: s.id, state: SessionState.STOPPED }),
      }),
    );
    assert.equal(out, "applied");
    assert.equal(await f.store.sessions.get(s.id), undefined);
  });

  test("a stopped session is removed at once", async () => {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    await f.store.sessions.update(s.id, s.version, {
      state: "stopped",
      stateReason: "",
      holdsCapacity: false,
    });
    await f.sessions.delete(who.alice, { id: s.id });
    assert.equal(await f.store.sessions.get(s.id), undefined);
  });
});
