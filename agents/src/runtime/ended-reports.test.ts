import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eventually } from "@streamspace/common/testing";
import type { AgentMessage } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { FakeDriver } from "../testing/fake-driver.ts";
import { FakeGateway } from "../testing/fake-gateway.ts";
import { is, makeRuntime, welcome } from "../testing/runtime-fixture.ts";

const REASON = "stopped with the system";

/** [id, state, reason] of every session in a Hello. */
function helloSessions(m: AgentMessage): [string, SessionState, string][] {
  assert.ok(m.payload.case === "hello");
  return m.payload.value.sessions
    .map((r): [string, SessionState, string] => [r.sessionId, r.state, r.reason])
    .sort((a, b) => a[0].localeCompare(b[0]));
}

/** [id, state, reason] of every SessionEvent on a stream, in order. */
function events(received: AgentMessage[]): [string, SessionState, string][] {
  return received.flatMap((m): [string, SessionState, string][] =>
    m.payload.case === "sessionEvent" && m.payload.value.session
      ? [
          [
            m.payload.value.session.sessionId,
            m.payload.value.session.state,
            m.payload.value.session.reason,
          ],
        ]
      : [],
  );
}

const live = (id: string, port: number) =>
  ({ sessionId: id, state: "running", endpoint: { host: "127.0.0.1", port } }) as const;

describe("ended sessions reach the control plane", () => {
  test("Hello carries the driver's ended sessions as stopped with their reason; Welcome forgets them", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver([
      live("s-live", 5901),
      { sessionId: "s-gone", state: "stopped", reason: "ended while the agent was down" },
    ]);
    await using _rt = makeRuntime(gw, driver);
    const s = await gw.nextStream();
    assert.deepEqual(helloSessions(await s.waitFor(is("hello"))), [
      ["s-gone", SessionState.STOPPED, "ended while the agent was down"],
      ["s-live", SessionState.RUNNING, ""],
    ]);
    assert.equal(driver.endedSessions.size, 1, "kept until a control plane answers");
    welcome(s);
    await eventually(() => driver.endedSessions.size === 0, { what: "ended records dropped" });
  });

  test("a desktop that exits while the stream is down is in the next Hello, not lost", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver([live("s-a", 5901), live("s-b", 5902)]);
    // A redial ~1 s after the drop leaves a window in which the agent is visibly disconnected.
    await using fx = makeRuntime(gw, driver, {
      backoff: { initialMs: 1_000, maxMs: 1_000 },
      random: () => 0.99,
    });
    const s1 = await gw.nextStream();
    welcome(s1);
    await eventually(() => fx.rt.status().connected, { what: "connected" });
    s1.end();
    await eventually(() => !fx.rt.status().connected, { what: "disconnected" });
    driver.exit("s-b");
    const s2 = await gw.nextStream();
    assert.deepEqual(helloSessions(await s2.waitFor(is("hello"))), [
      ["s-a", SessionState.RUNNING, ""],
      ["s-b", SessionState.STOPPED, "the desktop exited"],
    ]);
    assert.deepEqual(events(s1.received), [], "the first stream never heard of it");
  });

  test("stopWithSessions reports every desktop stopped before the stream closes, and forgets them once confirmed", async () => {
    await using gw = await FakeGateway.start();
    const driver = new FakeDriver([live("s-1", 5901), live("s-2", 5902)]);
    await using fx = makeRuntime(gw, driver);
    const s = await gw.nextStream();
    welcome(s);
    await eventually(() => fx.rt.status().connected, { what: "connected" });
    await fx.rt.stopWithSessions(REASON);
    assert.deepEqual(
      driver.calls.filter((c) => c.op === "stop").map((c) => c.sessionId),
      ["s-1", "s-2"],
    );
    assert.deepEqual(events(s.received), [
      ["s-1", SessionState.STOPPED, REASON],
      ["s-2", SessionState.STOPPED, REASON],
    ]);
    assert.ok(s.ended, "the agent half-closed its stream");
    assert.equal(driver.endedSessions.size, 0, "the control plane confirmed by ending the stream");
    assert.equal(fx.rt.status().connected, false);
    assert.equal(gw.streams.length, 1, "no redial after the clean stop");
  });

  test("stopWithSessions with no control plane keeps the endings for the next agent's Hello", async () => {
    const driver = new FakeDriver([live("s-1", 5901)]);
    {
      await using gw = await FakeGateway.start();
      await using fx = makeRuntime(gw, driver, { urls: ["http://127.0.0.1:1"] });
      await fx.rt.stopWithSessions(REASON, 5_000);
    }
    assert.deepEqual([...driver.endedSessions.keys()], ["s-1"]);
    await using gw = await FakeGateway.start();
    await using _rt = makeRuntime(gw, driver);
    const s = await gw.nextStream();
    assert.deepEqual(helloSessions(await s.waitFor(is("hello"))), [
      ["s-1", SessionState.STOPPED, REASON],
    ]);
    welcome(s);
    await eventually(() => driver.endedSessions.size === 0, { what: "ended records dropped" });
  });
});
