/**
 * The QoE reads over tRPC, as the browser calls them: a session's figures for its owner, the
 * fleet for operators only (checked at the API, not only by hiding the page), and a clear
 * answer from a pod that measures nothing.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ManualClock } from "@streamspace/common/testing";
import { TRPCClientError } from "@trpc/client";
import { createSessionActivity } from "../domain/session-activity.ts";
import { startTrpcFixture } from "./trpc-test-kit.ts";

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "OK";
  } catch (err) {
    return err instanceof TRPCClientError ? (err.data?.code as string) : String(err);
  }
};

describe("qoe over tRPC", () => {
  test("owner reads a session's figures; the fleet needs operator; absent service says so", async () => {
    await using fx = await startTrpcFixture();
    await fx.addAgent();
    const alice = (await fx.login("alice")).client;
    const bob = (await fx.login("bob")).client;
    const root = (await fx.login("root")).client;
    const s = await alice.sessions.create.mutate({ template: "demo-desktop" });

    assert.equal(await codeOf(alice.qoe.session.query({ id: s.id })), "NOT_IMPLEMENTED");

    const activity = createSessionActivity({
      source: {
        read: async () => ({
          complete: true,
          sessions: [
            {
              sessionId: s.id,
              viewers: 1,
              connects: 3,
              lastInputMs: 0,
              rttMs: 4.5,
              framesPerSecond: 12,
              bytesToViewerPerSecond: 5000,
              bytesFromViewerPerSecond: 40,
              timeToFirstFrameMs: 220,
            },
          ],
        }),
      },
      candidates: async () => [],
      hibernateIdle: async () => false,
      getSession: (p, input) => fx.services.sessions.get(p, input),
      clock: new ManualClock(),
    });
    fx.deps.qoe = activity;
    await activity.tick();

    const mine = await alice.qoe.session.query({ id: s.id });
    assert.equal(mine.rttMs, 4.5);
    assert.equal(mine.reconnects, 2);
    assert.equal(mine.history.length, 1);
    assert.equal(mine.idle, null, "the demo template has no idle timeout here");
    assert.equal(typeof mine.serverTimeMs, "number");
    assert.equal(await codeOf(bob.qoe.session.query({ id: s.id })), "NOT_FOUND");
    assert.equal(await codeOf(alice.qoe.session.query({ id: "nope" })), "BAD_REQUEST");
    assert.equal(await codeOf(alice.qoe.fleet.query()), "FORBIDDEN");
    const fleet = await root.qoe.fleet.query();
    assert.deepEqual(
      fleet.sessions.map((x) => [x.sessionId, x.framesPerSecond]),
      [[s.id, 12]],
    );
  });
});
