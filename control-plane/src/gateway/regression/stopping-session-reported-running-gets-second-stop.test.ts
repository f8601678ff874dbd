/**
 * A stop asked while the agent is away is delivered once, by its own command id. The agent
 * re-dials reporting the session running (it has not run the stop yet); that report used to be
 * classed as stale, and a second StopSession with a new command id was enqueued, so the agent
 * ran stop twice (its dedupe is by command id).
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

describe("a stop asked while the agent is away", () => {
  test("reaches the agent once, with the id the outbox gave it", async () => {
    const first = await fx.connect("away-s");
    const id = await fx.runningSession(first);
    await fx.drop(first, "away-s");

    const asked = await fx.f.sessions.stop(who.alice, { id });
    assert.equal(asked.state, "stopping");
    const stopRows = await fx.f.tdb.db
      .selectFrom("agent_commands")
      .select("id")
      .where("session_id", "=", id)
      .where("kind", "=", "stop_session")
      .execute();
    assert.equal(stopRows.length, 1);

    await using again = await fx.connect("away-s", [
      { sessionId: id, state: SessionState.RUNNING },
    ]);
    const cmd = await again.waitFor("command");
    fx.answer(again, cmd);
    await fx.gw.idle();
    fx.answerAll(again);
    await fx.gw.idle();
    await eventually(async () =>
      assert.equal((await fx.f.store.sessions.get(id))?.state, "stopped"),
    );
    const stops = fx
      .commandsFor(again)
      .filter((c) => c.action.case === "stopSession")
      .map((c) => c.commandId);
    assert.deepEqual(stops, [stopRows[0]?.id]);
    const allStops = await fx.f.tdb.db
      .selectFrom("agent_commands")
      .select("id")
      .where("agent_id", "=", "away-s")
      .where("kind", "=", "stop_session")
      .execute();
    assert.equal(allStops.length, 1, "no second StopSession was enqueued");
  });
});
