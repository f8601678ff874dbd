/**
 * Found by fuzzing the agents' stream (agent-stream.fuzz.test.ts, seed 20261129): text an
 * agent sends is stored in Postgres, which cannot hold U+0000, so a Hello with a NUL in a
 * label, the region or the version ended the stream with INTERNAL ("unsupported Unicode escape
 * sequence"), and a NUL in a reported reason or error message failed the report the same way.
 * A Hello is refused with INVALID_ARGUMENT saying why; reports are kept, with U+FFFD for NUL.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { Platform, SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { who } from "../../store/test-kit.ts";
import { eventually } from "../gateway-test-kit.ts";
import { type AwayAgentFixture, startAwayAgentFixture } from "./away-agent-test-kit.ts";

let fx: AwayAgentFixture;
before(async () => {
  fx = await startAwayAgentFixture();
});
after(async () => fx[Symbol.asyncDispose]());

describe("NUL characters in what an agent sends", () => {
  test("a Hello carrying one is refused with INVALID_ARGUMENT, not INTERNAL", async () => {
    const hellos: { labels?: Record<string, string>; region?: string; version?: string }[] = [
      { labels: { "\u0000": "" } },
      { labels: { zone: "a\u0000" } },
      { region: "eu\u0000" },
      { version: "1\u0000" },
    ];
    for (const hello of hellos) {
      const a = fx.newAgent();
      a.send({
        case: "hello",
        value: { agentId: "nul-hello", platform: Platform.LOCAL, ...hello },
      });
      const ended = await a.ended;
      assert.equal(ended?.code, Code.InvalidArgument, JSON.stringify(hello));
      assert.match(ended?.rawMessage ?? "", /must not contain NUL/);
    }
  });

  test("a reported reason or error message keeps the report, with U+FFFD for NUL", async () => {
    await using a = await fx.connect("nul-reports");
    const first = await fx.runningSession(a);
    a.send({
      case: "sessionEvent",
      value: {
        session: { sessionId: first, state: SessionState.STOPPED, reason: "exit\u0000code 1" },
      },
    });
    await eventually(async () => {
      const s = await fx.f.store.sessions.get(first);
      assert.deepEqual([s?.state, s?.stateReason], ["stopped", "exit\ufffdcode 1"]);
    });

    const second = await fx.f.sessions.create(who.alice, { template: "demo" });
    const start = await eventually(() => {
      const c = fx
        .commandsFor(a)
        .find((x) => x.action.case === "startSession" && x.action.value.sessionId === second.id);
      if (!c) throw new Error("no StartSession yet");
      return c;
    });
    a.send({
      case: "commandResult",
      value: { commandId: start.commandId, success: false, errorMessage: "image\u0000missing" },
    });
    await eventually(async () => {
      const s = await fx.f.store.sessions.get(second.id);
      assert.deepEqual([s?.state, s?.stateReason], ["failed", "image\ufffdmissing"]);
    });
  });
});
