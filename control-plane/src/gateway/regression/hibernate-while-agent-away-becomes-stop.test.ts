/**
 * A hibernate (or wake) asked while the session's agent is away must complete as asked when
 * the agent comes back, never turn into a stop. The agent re-dials reporting the state the
 * session had before the command (running, or hibernated); that report used to be classed as
 * stale and answered with a StopSession, so the agent received [hibernate, stop] and the user
 * lost the desktop they asked to keep.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { who } from "../../store/test-kit.ts";
import { eventually } from "../gateway-test-kit.ts";
import { type AwayAgentFixture, startAwayAgentFixture } from "./away-agent-test-kit.ts";

let fx: AwayAgentFixture;
before(async () => {
  fx = await startAwayAgentFixture();
});
after(async () => fx[Symbol.asyncDispose]());

const stateOf = async (id: string) => (await fx.f.store.sessions.get(id))?.state;

describe("a lifecycle command asked while the agent is away", () => {
  test("hibernate: the agent gets only the hibernate on re-dial, and the session ends hibernated", async () => {
    const first = await fx.connect("away-h");
    const id = await fx.runningSession(first);
    await fx.drop(first, "away-h");

    const asked = await fx.f.sessions.hibernate(who.alice, { id });
    assert.equal(asked.state, "hibernating");

    await using again = await fx.connect("away-h", [
      { sessionId: id, state: SessionState.RUNNING },
    ]);
    const cmd = await again.waitFor("command");
    assert.equal(cmd.action.case, "hibernateSession");
    fx.answer(again, cmd);
    // Whatever else the control plane decided on Hello has been delivered once it is idle;
    // answer it as a real agent would, so a wrong stop shows in the end state too.
    await fx.gw.idle();
    fx.answerAll(again);
    await fx.gw.idle();
    await eventually(async () => assert.equal(await stateOf(id), "hibernated"));
    assert.deepEqual(
      fx.commandsFor(again).map((c) => c.action.case),
      ["hibernateSession"],
    );
    assert.equal(await stateOf(id), "hibernated");
  });

  test("wake: the agent gets only the wake on re-dial, and the session ends running", async () => {
    const first = await fx.connect("away-w");
    const id = await fx.runningSession(first);
    await fx.f.sessions.hibernate(who.alice, { id });
    const hib = await first.waitFor("command", 1);
    fx.answer(first, hib);
    await eventually(async () => assert.equal(await stateOf(id), "hibernated"));
    await fx.drop(first, "away-w");

    const asked = await fx.f.sessions.wake(who.alice, { id });
    assert.equal(asked.state, "waking");

    await using again = await fx.connect("away-w", [
      { sessionId: id, state: SessionState.HIBERNATED },
    ]);
    const cmd = await again.waitFor("command");
    assert.equal(cmd.action.case, "wakeSession");
    fx.answer(again, cmd);
    await fx.gw.idle();
    fx.answerAll(again);
    await fx.gw.idle();
    await eventually(async () => assert.equal(await stateOf(id), "running"));
    assert.deepEqual(
      fx.commandsFor(again).map((c) => c.action.case),
      ["wakeSession"],
    );
    assert.equal(await stateOf(id), "running");
  });

  test("a hibernate the agent fails ends the session failed with the agent's reason, not stopped", async () => {
    const first = await fx.connect("away-f");
    const id = await fx.runningSession(first);
    await fx.drop(first, "away-f");
    await fx.f.sessions.hibernate(who.alice, { id });

    await using again = await fx.connect("away-f", [
      { sessionId: id, state: SessionState.RUNNING },
    ]);
    const cmd = await again.waitFor("command");
    assert.equal(cmd.action.case, "hibernateSession");
    again.send({ case: "commandAck", value: { commandId: cmd.commandId } });
    again.send({
      case: "commandResult",
      value: {
        commandId: cmd.commandId,
        success: false,
        errorMessage: "checkpoint failed: disk full",
      },
    });
    await fx.gw.idle();
    fx.answerAll(again);
    await fx.gw.idle();
    await eventually(async () => {
      const s = await fx.f.store.sessions.get(id);
      assert.deepEqual([s?.state, s?.stateReason], ["failed", "checkpoint failed: disk full"]);
    });
    assert.deepEqual(
      fx.commandsFor(again).map((c) => c.action.case),
      ["hibernateSession"],
    );
  });
});
