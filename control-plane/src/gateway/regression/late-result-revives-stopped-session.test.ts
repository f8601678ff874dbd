/**
 * Found by the chaos suite (long form, Redis restart under load): commands for one session can
 * overtake each other. A hibernate whose delivery crossed pods while Redis was away was
 * redelivered after its ack deadline, after the stop that followed it had already run; the
 * agent then reported the session hibernated in that command's result. The session was stopped
 * in the database, so the report was stale, but a stale report inside a command result (unlike
 * one in a session event or a Hello) never got its StopSession: the agent kept an orphan the
 * database did not know about. Now a result follows the same rule as any report.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { SessionReportSchema } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { who } from "../../store/test-kit.ts";
import { eventually } from "../gateway-test-kit.ts";
import { type AwayAgentFixture, startAwayAgentFixture } from "./away-agent-test-kit.ts";

let fx: AwayAgentFixture;
before(async () => {
  fx = await startAwayAgentFixture();
});
after(async () => fx[Symbol.asyncDispose]());

describe("a command result that arrives after a later command finished the session", () => {
  test("reporting the session alive gets it stopped on the agent", async () => {
    await using a = await fx.connect("late");
    const id = await fx.runningSession(a);
    await fx.f.sessions.hibernate(who.alice, { id });
    const hibernate = await a.waitFor("command", 1);
    assert.equal(hibernate.action.case, "hibernateSession");
    a.send({ case: "commandAck", value: { commandId: hibernate.commandId } });
    await fx.f.sessions.stop(who.alice, { id });
    const stop = await a.waitFor("command", 2);
    assert.equal(stop.action.case, "stopSession");
    fx.answer(a, stop);
    await eventually(async () =>
      assert.equal((await fx.f.store.sessions.get(id))?.state, "stopped"),
    );
    // The overtaken hibernate's result: the agent says it now runs the session, hibernated.
    a.send({
      case: "commandResult",
      value: {
        commandId: hibernate.commandId,
        success: true,
        session: create(SessionReportSchema, { sessionId: id, state: SessionState.HIBERNATED }),
      },
    });
    const again = await a.waitFor("command", 3);
    assert.equal(again.action.case, "stopSession");
    assert.equal(again.action.value.sessionId, id);
    assert.notEqual(again.commandId, stop.commandId);
    assert.equal((await fx.f.store.sessions.get(id))?.state, "stopped");
  });
});
