import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  CommandResultSchema,
  SessionReportSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import {
  addAgent,
  addTemplate,
  type CoreFixture,
  createCoreFixture,
  who,
} from "../store/test-kit.ts";
import type { SessionChange } from "./ports.ts";

const report = (sessionId: string, state: SessionState, vncEndpoint = "") =>
  create(SessionReportSchema, { sessionId, state, vncEndpoint });

describe("agent reports", () => {
  let f: CoreFixture;
  const changes: SessionChange[] = [];
  before(async () => {
    f = await createCoreFixture();
    await addAgent(f, { id: "ag", maxSessions: 10 });
    await addAgent(f, { id: "intruder", maxSessions: 3, platform: "docker" });
    await addTemplate(f, "demo", { platform: "local" });
    f.bus.subscribe((c) => changes.push(c));
  });
  after(async () => f[Symbol.asyncDispose]());

  const startCommand = async (sessionId: string) => {
    const row = await f.tdb.db
      .selectFrom("agent_commands")
      .selectAll()
      .where("session_id", "=", sessionId)
      .where("kind", "=", "start_session")
      .executeTakeFirstOrThrow();
    return row.id;
  };

  test("ack, then a result completes the command and moves the session; duplicates are harmless", async () => {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    const cmd = await startCommand(s.id);
    assert.equal(await f.reports.acknowledgeCommand("ag", cmd), true);
    assert.equal((await f.store.commands.get(cmd))?.status, "acked");
    const result = create(CommandResultSchema, {
      commandId: cmd,
      success: true,
      session: report(s.id, SessionState.RUNNING, "127.0.0.1:5901"),
    });
    changes.length = 0;
    assert.equal(await f.reports.applyCommandResult("ag", result), "applied");
    assert.equal(await f.reports.applyCommandResult("ag", result), "duplicate");
    const cur = await f.store.sessions.get(s.id);
    assert.equal(cur?.state, "running");
    assert.equal(cur?.vncEndpoint, "127.0.0.1:5901");
    assert.equal((await f.store.commands.get(cmd))?.status, "completed");
    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.session.state, "running");
  });

  test("a failed command without a report fails the session and frees the slot", async () => {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    const before = (await f.store.agents.get("ag"))?.activeSessions ?? 0;
    const cmd = await startCommand(s.id);
    const out = await f.reports.applyCommandResult(
      "ag",
      create(CommandResultSchema, {
        commandId: cmd,
        success: false,
        errorMessage: "image not found",
      }),
    );
    assert.equal(out, "applied");
    const cur = await f.store.sessions.get(s.id);
    assert.equal(cur?.state, "failed");
    assert.equal(cur?.stateReason, "image not found");
    assert.equal((await f.store.commands.get(cmd))?.error, "image not found");
    assert.equal((await f.store.agents.get("ag"))?.activeSessions, before - 1);
  });

  test("another agent's session or command is refused; malformed ids are invalid", async () => {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    assert.equal(
      await f.reports.applySessionReport("intruder", report(s.id, SessionState.RUNNING)),
      "foreign",
    );
    assert.equal(await f.reports.acknowledgeCommand("intruder", await startCommand(s.id)), false);
    assert.equal(
      await f.reports.applySessionReport("ag", report("nope", SessionState.RUNNING)),
      "invalid",
    );
    assert.equal(
      await f.reports.applySessionReport("ag", report(s.id, 99 as SessionState)),
      "invalid",
    );
    assert.equal(
      await f.reports.applySessionReport(
        "ag",
        report("00000000-0000-4000-8000-000000000000", SessionState.RUNNING),
      ),
      "unknown",
    );
    assert.equal(
      await f.reports.applyCommandResult("ag", create(CommandResultSchema, { commandId: "x" })),
      "unknown",
    );
  });

  test("an observed exit jumps to stopped; a stopped session never comes back to life", async () => {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    assert.equal(
      await f.reports.applySessionReport("ag", report(s.id, SessionState.RUNNING)),
      "applied",
    );
    assert.equal(
      await f.reports.applySessionReport("ag", report(s.id, SessionState.STOPPED)),
      "applied",
    );
    assert.equal(
      await f.reports.applySessionReport("ag", report(s.id, SessionState.RUNNING)),
      "stale",
    );
    assert.equal((await f.store.sessions.get(s.id))?.state, "stopped");
    const events = await f.tdb.db
      .selectFrom("session_events")
      .select(["from_state", "to_state"])
      .where("session_id", "=", s.id)
      .orderBy("id")
      .execute();
    assert.deepEqual(
      events.map((e) => `${e.from_state}>${e.to_state}`),
      ["null>scheduled", "scheduled>running", "running>stopped"],
    );
  });

  test("inventory reconciliation: unreported live sessions are failed as lost, reported ones applied", async () => {
    const a = await f.sessions.create(who.alice, { template: "demo" });
    const b = await f.sessions.create(who.alice, { template: "demo" });
    await f.reports.applySessionReport("ag", report(a.id, SessionState.RUNNING));
    await f.reports.applySessionReport("ag", report(b.id, SessionState.RUNNING));
    const { outcomes, lost } = await f.reports.reconcileInventory("ag", [
      report(a.id, SessionState.RUNNING, "h:1"),
    ]);
    assert.equal(outcomes.get(a.id), "applied");
    assert.ok(lost.includes(b.id));
    assert.ok(!lost.includes(a.id));
    assert.equal((await f.store.sessions.get(b.id))?.state, "failed");
  });

  test("inventory reconciliation: an ending the agent reports in Hello stops the session with its reason, never as lost", async () => {
    const running = await f.sessions.create(who.alice, { template: "demo" });
    const hibernated = await f.sessions.create(who.alice, { template: "demo" });
    await f.reports.applySessionReport("ag", report(running.id, SessionState.RUNNING));
    await f.reports.applySessionReport("ag", report(hibernated.id, SessionState.RUNNING));
    await f.reports.applySessionReport("ag", report(hibernated.id, SessionState.HIBERNATED));
    const stopped = (id: string, reason: string) =>
      create(SessionReportSchema, { sessionId: id, state: SessionState.STOPPED, reason });
    const { outcomes, lost } = await f.reports.reconcileInventory("ag", [
      stopped(running.id, "stopped with the system"),
      stopped(hibernated.id, "the desktop ended while its agent was not running"),
    ]);
    assert.ok(!lost.includes(running.id) && !lost.includes(hibernated.id));
    assert.equal(outcomes.get(running.id), "applied");
    const a = await f.store.sessions.get(running.id);
    assert.deepEqual([a?.state, a?.stateReason], ["stopped", "stopped with the system"]);
    const b = await f.store.sessions.get(hibernated.id);
    assert.deepEqual(
      [b?.state, b?.stateReason],
      ["stopped", "the desktop ended while its agent was not running"],
    );
    // The next Hello repeats an ending until the agent saw Welcome: harmless.
    const again = await f.reports.reconcileInventory("ag", [
      stopped(running.id, "stopped with the system"),
    ]);
    assert.equal(again.outcomes.get(running.id), "unchanged");
    assert.equal((await f.store.sessions.get(running.id))?.state, "stopped");
  });
});
