/**
 * The browser's road writes the same audit entries as Connect (one per mutation, with the
 * outcome the caller received and where it came from), and only admins may read them.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TRPCClientError } from "@trpc/client";
import { startTrpcFixture, type TrpcFixture } from "./trpc-test-kit.ts";

let fx: TrpcFixture;
before(async () => {
  fx = await startTrpcFixture();
});
after(async () => fx?.[Symbol.asyncDispose]());

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TRPCClientError, String(err));
    return String(err.data?.code);
  }
  return "OK";
};

describe("audit over tRPC", () => {
  test("mutations are recorded with actor, outcome, source and transport; queries are not", async () => {
    const { client: alice } = await fx.login("alice");
    assert.equal(
      await codeOf(
        fx.client().auth.login.mutate({ username: "alice", password: "wrong-password" }),
      ),
      "UNAUTHORIZED",
    );
    assert.equal(await codeOf(alice.agents.approve.mutate({ id: "no-such-agent" })), "FORBIDDEN");
    assert.equal(
      await codeOf(alice.sessions.create.mutate({ template: "demo-desktop" })),
      "PRECONDITION_FAILED",
    );
    await alice.sessions.list.query({});

    const { client: root } = await fx.login("root");
    const { events } = await root.audit.list.query({ pageSize: 50 });
    const line = (a: string) => events.find((e) => e.action === a);
    const failedLogin = events.find((e) => e.action === "auth.login" && e.outcome !== "ok");
    assert.deepEqual(
      [failedLogin?.actorId, failedLogin?.targetId, failedLogin?.outcome, failedLogin?.transport],
      ["", "alice", "unauthenticated", "trpc"],
    );
    assert.match(failedLogin?.source ?? "", /127\.0\.0\.1/);
    assert.deepEqual(
      [line("agent.approve")?.actorId, line("agent.approve")?.outcome],
      [fx.users.alice, "permission_denied"],
    );
    assert.deepEqual(
      [line("session.create")?.outcome, line("session.create")?.detail.template],
      ["failed_precondition", "demo-desktop"],
    );
    const okLogins = events.filter((e) => e.action === "auth.login" && e.outcome === "ok");
    assert.deepEqual(
      okLogins.map((e) => e.actorId).sort(),
      [fx.users.alice, fx.users.admin].sort(),
    );
    assert.ok(!events.some((e) => e.action.includes("list")), "reads are not audited");
    // Newest first.
    const ids = events.map((e) => BigInt(e.id));
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)),
    );
  });

  test("only admins read the log; filters and pages work", async () => {
    const { client: alice } = await fx.login("alice");
    assert.equal(await codeOf(alice.audit.list.query({})), "FORBIDDEN");
    const { client: root } = await fx.login("root");
    const mine = await root.audit.list.query({ actorId: fx.users.alice, action: "auth.login" });
    assert.ok(mine.events.length >= 2);
    assert.ok(mine.events.every((e) => e.actorId === fx.users.alice && e.action === "auth.login"));
    const first = await root.audit.list.query({ pageSize: 2 });
    assert.equal(first.events.length, 2);
    const second = await root.audit.list.query({ pageSize: 2, pageToken: first.nextPageToken });
    assert.ok(BigInt(second.events[0]?.id ?? "0") < BigInt(first.events[1]?.id ?? "0"));
    assert.equal(await codeOf(root.audit.list.query({ pageToken: "forged" })), "BAD_REQUEST");
  });
});
