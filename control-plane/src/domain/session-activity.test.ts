/**
 * Idle hibernation and QoE reads over a real database, with a manual clock: the relays are a
 * scripted ActivitySource (the narrow port the real relay reader implements; the relay side is
 * tested in e2e/relay-qoe.test.ts and end to end in e2e/idle-hibernation.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { eventually, ManualClock } from "@streamspace/common/testing";
import {
  CommandResultSchema,
  SessionReportSchema,
} from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { listIdleCandidates } from "../store/pg-idle-candidates.ts";
import {
  addAgent,
  addTemplate,
  type CoreFixture,
  createCoreFixture,
  who,
} from "../store/test-kit.ts";
import type { DomainError } from "./errors.ts";
import { createSessionActivity, type RelayActivity, warningLeadMs } from "./session-activity.ts";

const activity = (sessionId: string, lastInputMs: number, viewers = 1): RelayActivity => ({
  sessionId,
  viewers,
  connects: 2,
  lastInputMs,
  rttMs: 12,
  framesPerSecond: 30,
  bytesToViewerPerSecond: 1000,
  bytesFromViewerPerSecond: 10,
  timeToFirstFrameMs: 150,
});

describe("session activity: QoE reads and idle hibernation", () => {
  let f: CoreFixture;
  before(async () => {
    f = await createCoreFixture();
    await addAgent(f, { id: "ag", maxSessions: 10 });
    await addTemplate(f, "idle-10m", { platform: "local", idleTimeoutSeconds: 600 });
    await addTemplate(f, "never-idle", { platform: "local" });
  });
  after(async () => f[Symbol.asyncDispose]());

  async function running(template: string) {
    const s = await f.sessions.create(who.alice, { template });
    const cmd = await f.tdb.db
      .selectFrom("agent_commands")
      .select("id")
      .where("session_id", "=", s.id)
      .executeTakeFirstOrThrow();
    await f.reports.applyCommandResult(
      "ag",
      create(CommandResultSchema, {
        commandId: cmd.id,
        success: true,
        session: create(SessionReportSchema, {
          sessionId: s.id,
          state: SessionState.RUNNING,
          vncEndpoint: "127.0.0.1:5901",
        }),
      }),
    );
    return s.id;
  }

  /** A service that sees only this test's sessions (tests share the database). */
  function fixture(...ids: string[]) {
    const clock = new ManualClock(Date.now());
    const relays = { sessions: [] as RelayActivity[], complete: true, reads: 0, hibernated: 0 };
    const svc = createSessionActivity({
      source: {
        read: async () => {
          relays.reads++;
          return { sessions: relays.sessions, complete: relays.complete };
        },
      },
      candidates: async () =>
        (await listIdleCandidates(f.tdb.db)).filter((c) => ids.includes(c.sessionId)),
      hibernateIdle: (id, reason) => f.sessions.hibernateIdle(id, reason),
      getSession: (p, input) => f.sessions.get(p, input),
      clock,
      onIdleHibernated: () => relays.hibernated++,
    });
    return { clock, relays, svc };
  }

  test("hibernates after the idle timeout without input; input before it cancels", async () => {
    const id = await running("idle-10m");
    const other = await running("never-idle");
    const { clock, relays, svc } = fixture(id, other);
    const t0 = clock.now();
    await svc.tick();
    const first = await svc.forSession(who.alice, { id });
    assert.equal(first.idle?.timeoutSeconds, 600);
    assert.ok((first.idle?.hibernateAtMs ?? 0) >= t0 + 600_000);
    assert.equal(first.idle?.warnAtMs, (first.idle?.hibernateAtMs ?? 0) - 60_000);
    assert.equal((await svc.forSession(who.alice, { id: other })).idle, undefined);

    // A key at 500 s moves the deadline to 1,100 s.
    await clock.advance(500_000, 10_000);
    relays.sessions = [activity(id, clock.now())];
    await svc.tick();
    await clock.advance(500_000, 10_000);
    await svc.tick();
    assert.equal((await f.store.sessions.get(id))?.state, "running", "input cancelled it");
    const mid = await svc.forSession(who.alice, { id });
    assert.equal(mid.idle?.hibernateAtMs, t0 + 1_100_000);
    assert.equal(mid.current?.rttMs, 12);
    assert.equal(mid.reconnects, 1);
    assert.equal(mid.history.length, 2);

    await clock.advance(101_000, 10_000);
    await svc.tick();
    const s = await f.store.sessions.get(id);
    assert.equal(s?.state, "hibernating");
    assert.equal(s?.stateReason, "hibernated after 10 minutes without input");
    assert.equal(relays.hibernated, 1, "counted once");
    const cmds = await f.tdb.db
      .selectFrom("agent_commands")
      .select("kind")
      .where("session_id", "=", id)
      .execute();
    assert.ok(
      cmds.some((c) => c.kind === "hibernate_session"),
      "HibernateSession enqueued",
    );
    assert.equal((await f.store.sessions.get(other))?.state, "running", "no idle timeout");
    assert.equal((await svc.forSession(who.alice, { id })).idle, undefined, "no longer running");
  });

  test("a relay that cannot be read holds every hibernation back", async () => {
    const id = await running("idle-10m");
    const { clock, relays, svc } = fixture(id);
    relays.complete = false;
    await clock.advance(700_000, 50_000);
    await svc.tick();
    assert.equal((await f.store.sessions.get(id))?.state, "running");
    relays.complete = true;
    await svc.tick();
    assert.equal((await f.store.sessions.get(id))?.state, "hibernating");
  });

  test("start() repeats the tick on the clock; stop() ends it", async () => {
    const { clock, relays, svc } = fixture();
    svc.start();
    // Each tick waits for the database (real time), then schedules the next on the clock.
    for (const n of [1, 2, 3]) {
      await eventually(() => assert.equal(relays.reads, n));
      await eventually(() => assert.equal(clock.pending, 1));
      await clock.advance(5_000, 1_000);
    }
    await eventually(() => assert.equal(relays.reads, 4));
    await svc.stop();
    assert.equal(clock.pending, 0, "nothing left scheduled");
    await clock.advance(15_000, 1_000);
    assert.equal(relays.reads, 4);
  });

  test("who may read: the owner and operators a session, operators the fleet", async () => {
    const id = await running("never-idle");
    const { relays, svc } = fixture(id);
    relays.sessions = [activity(id, 0)];
    await svc.tick();
    assert.equal((await svc.forSession(who.operator, { id })).current?.framesPerSecond, 30);
    await assert.rejects(
      svc.forSession(who.bob, { id }),
      (e: DomainError) => e.code === "not_found",
    );
    await assert.rejects(
      svc.forSession(who.alice, { id: "not a uuid" }),
      (e: DomainError) => e.code === "invalid_argument",
    );
    assert.throws(
      () => svc.fleet(who.alice),
      (e: DomainError) => e.code === "permission_denied",
    );
    assert.ok(svc.fleet(who.operator).some((v) => v.sessionId === id));
  });

  test("the warning leads by a minute, or half a short timeout", () => {
    assert.equal(warningLeadMs(3600), 60_000);
    assert.equal(warningLeadMs(20), 10_000);
  });
});
