/**
 * Reports the state machine cannot apply (hibernating → running, waking → hibernated,
 * stopping → running) were all classed as "stale" even when the database places the session on
 * the reporting agent, and the gateway logged "stopping a session the database does not place
 * on this agent … outcome stale" and sent a stop. Stale is only for finished sessions; for a
 * live session the agent owns, the report is "pending" (its command is still on the way) or a
 * "conflict", and neither sends anything.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { SessionReportSchema } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import type { NewCommand } from "../../domain/ports.ts";
import {
  addAgent,
  addTemplate,
  type CoreFixture,
  createCoreFixture,
  who,
} from "../../store/test-kit.ts";
import { createSessionReconciler } from "../session-reconciler.ts";

const report = (sessionId: string, state: SessionState) =>
  create(SessionReportSchema, { sessionId, state });

describe("a report the state machine cannot apply, from the session's own agent", () => {
  let f: CoreFixture;
  before(async () => {
    f = await createCoreFixture();
    await addAgent(f, { id: "own", maxSessions: 20 });
    await addTemplate(f, "demo");
  });
  after(async () => f[Symbol.asyncDispose]());

  /** A session of alice on "own", moved through the reports an agent would send. */
  async function sessionIn(state: "running" | "hibernated"): Promise<string> {
    const s = await f.sessions.create(who.alice, { template: "demo" });
    await f.reports.applySessionReport("own", report(s.id, SessionState.RUNNING));
    if (state === "hibernated") {
      await f.sessions.hibernate(who.alice, { id: s.id });
      await f.reports.applySessionReport("own", report(s.id, SessionState.HIBERNATED));
    }
    return s.id;
  }

  test("is pending while its command is on the way, and the reconciler sends nothing", async () => {
    const hibernating = await sessionIn("running");
    await f.sessions.hibernate(who.alice, { id: hibernating });
    const waking = await sessionIn("hibernated");
    await f.sessions.wake(who.alice, { id: waking });
    const stopping = await sessionIn("running");
    await f.sessions.stop(who.alice, { id: stopping });

    const inventory = [
      report(hibernating, SessionState.RUNNING),
      report(waking, SessionState.HIBERNATED),
      report(stopping, SessionState.RUNNING),
    ];
    const enqueued: NewCommand[] = [];
    const lines: string[] = [];
    const line = (msg: string, fields?: Record<string, unknown>) =>
      lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
    const reconciler = createSessionReconciler({
      reports: f.reports,
      enqueue: async (c) => {
        enqueued.push(c);
      },
      notify: () => {},
      log: { info: line, warn: line, error: line },
    });
    await reconciler.reconcile("own", inventory);
    assert.deepEqual(enqueued, [], "nothing is stopped");
    assert.ok(!lines.some((l) => l.includes("stale")), lines.join("\n"));

    const outcomes = await Promise.all(
      inventory.map((r) => f.reports.applySessionReport("own", r)),
    );
    assert.deepEqual(outcomes, ["pending", "pending", "pending"]);
    const states = await Promise.all(
      [hibernating, waking, stopping].map(async (id) => (await f.store.sessions.get(id))?.state),
    );
    assert.deepEqual(states, ["hibernating", "waking", "stopping"]);
  });

  test("a disagreement with no command behind it is a conflict: logged, nothing sent", async () => {
    const hibernated = await sessionIn("hibernated");
    const enqueued: NewCommand[] = [];
    const warned: string[] = [];
    const reconciler = createSessionReconciler({
      reports: f.reports,
      enqueue: async (c) => {
        enqueued.push(c);
      },
      notify: () => {},
      log: { info() {}, warn: (m) => warned.push(m), error() {} },
    });
    await reconciler.sessionEvent("own", report(hibernated, SessionState.STARTING));
    assert.deepEqual(enqueued, []);
    assert.equal(warned.length, 1);
    assert.equal(
      await f.reports.applySessionReport("own", report(hibernated, SessionState.STARTING)),
      "conflict",
    );
    assert.equal((await f.store.sessions.get(hibernated))?.state, "hibernated");
  });

  test("a finished session is still stale, and its agent is told to stop it", async () => {
    const id = await sessionIn("running");
    await f.reports.applySessionReport("own", report(id, SessionState.STOPPED));
    const enqueued: NewCommand[] = [];
    const reconciler = createSessionReconciler({
      reports: f.reports,
      enqueue: async (c) => {
        enqueued.push(c);
      },
      notify: () => {},
      log: { info() {}, warn() {}, error() {} },
    });
    await reconciler.reconcile("own", [report(id, SessionState.RUNNING)]);
    assert.deepEqual(
      enqueued.map((c) => c.kind),
      ["stop_session"],
    );
  });
});
