import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eventuallyFound, WAIT } from "@streamspace/common/testing";
import { TRPCClientError } from "@trpc/client";
import { startTrpcFixture } from "./trpc-test-kit.ts";

/** The tRPC error code of a rejected call, for assertions. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCClientError) return String(err.data?.code);
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe("tRPC router over the real domain services", () => {
  test("auth: login, whoami, refresh, logout and bad credentials", async () => {
    await using fx = await startTrpcFixture();
    const anon = fx.client();
    assert.equal(
      await codeOf(anon.auth.login.mutate({ username: "alice", password: "nope" })),
      "UNAUTHORIZED",
    );
    assert.equal(
      await codeOf(anon.auth.login.mutate({ username: "", password: "x" })),
      "BAD_REQUEST",
    );
    assert.equal(
      // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong input type
      await codeOf(anon.auth.login.mutate({ username: 42 } as any)),
      "BAD_REQUEST",
    );
    const { client, refreshToken } = await fx.login("alice");
    const me = await client.auth.whoami.query();
    assert.equal(me.username, "alice");
    assert.equal(me.role, "user");

    const tokens = await anon.auth.refresh.mutate({ refreshToken });
    assert.ok(tokens.accessToken && Date.parse(tokens.accessExpireTime) > Date.now());
    const fresh = fx.client(tokens.accessToken);
    await fresh.auth.logout.mutate({ refreshToken: tokens.refreshToken });
    assert.equal(await codeOf(fresh.auth.whoami.query()), "UNAUTHORIZED");
    assert.equal(
      await codeOf(anon.auth.refresh.mutate({ refreshToken: tokens.refreshToken })),
      "UNAUTHORIZED",
    );
  });

  test("unauthenticated and tampered callers are refused with UNAUTHORIZED", async () => {
    await using fx = await startTrpcFixture();
    const anon = fx.client();
    assert.equal(await codeOf(anon.sessions.list.query()), "UNAUTHORIZED");
    const bad = fx.client("not-a-jwt");
    assert.equal(await codeOf(bad.templates.list.query()), "UNAUTHORIZED");
    // Login still works on a connection that carries a broken token.
    const r = await bad.auth.login.mutate({ username: "bob", password: "correct horse battery" });
    assert.equal(r.user.username, "bob");
  });

  test("sessions: create from a template, ownership, wrong transitions, viewer token", async () => {
    await using fx = await startTrpcFixture();
    await fx.addAgent();
    const alice = await fx.login("alice");
    const bob = await fx.login("bob");
    const a = alice.client;
    const b = bob.client;

    const templates = await a.templates.list.query();
    assert.ok(templates.templates.some((t) => t.name === "demo-desktop"));

    const s = await a.sessions.create.mutate({ template: "demo-desktop", displayName: "Mine" });
    assert.equal(s.ownerId, fx.users.alice);
    assert.equal(s.displayName, "Mine");
    assert.ok(["scheduled", "starting"].includes(s.state), s.state);
    assert.equal(s.viewerPath, `/vnc/${s.id}`);
    assert.equal(typeof s.createTime, "string");

    const mine = await a.sessions.list.query({ mine: true });
    assert.deepEqual(
      mine.sessions.map((x) => x.id),
      [s.id],
    );
    assert.equal((await b.sessions.list.query()).sessions.length, 0);
    assert.equal(await codeOf(b.sessions.get.query({ id: s.id })), "NOT_FOUND");
    assert.equal(await codeOf(b.sessions.stop.mutate({ id: s.id })), "NOT_FOUND");
    assert.equal(await codeOf(a.sessions.create.mutate({ template: "no-such" })), "NOT_FOUND");
    assert.equal(await codeOf(a.sessions.create.mutate({ template: "" })), "BAD_REQUEST");
    assert.equal(await codeOf(a.sessions.get.query({ id: "" })), "BAD_REQUEST");
    assert.equal(
      // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong state name
      await codeOf(a.sessions.list.query({ states: ["sleeping" as any] })),
      "BAD_REQUEST",
    );

    // Not running yet: no viewer token, no wake.
    assert.equal(
      await codeOf(a.sessions.viewerToken.mutate({ sessionId: s.id })),
      "PRECONDITION_FAILED",
    );
    assert.equal(await codeOf(a.sessions.wake.mutate({ id: s.id })), "PRECONDITION_FAILED");

    // The agent reports it running (as the gateway would), then the viewer token works.
    const row = await fx.store.sessions.get(s.id);
    assert.ok(row);
    await fx.store.sessions.update(s.id, row.version, { state: "running", stateReason: "" });
    const vt = await a.sessions.viewerToken.mutate({ sessionId: s.id });
    assert.equal(vt.token.split(".").length, 3);
    assert.equal(vt.viewerPath, `/vnc/${s.id}`);
    assert.ok(Date.parse(vt.expireTime) > Date.now());
    assert.equal(await codeOf(b.sessions.viewerToken.mutate({ sessionId: s.id })), "NOT_FOUND");

    const hib = await a.sessions.hibernate.mutate({ id: s.id });
    assert.equal(hib.state, "hibernating");
    const stopped = await a.sessions.stop.mutate({ id: s.id });
    assert.equal(stopped.state, "stopping");
  });

  test("sessions.watch streams the caller's changes only, over the WebSocket", async () => {
    await using fx = await startTrpcFixture();
    await fx.addAgent();
    const alice = await fx.login("alice");
    const bob = await fx.login("bob");
    const a = alice.client;
    const b = bob.client;
    const seenA: string[] = [];
    const seenB: string[] = [];
    const subA = a.sessions.watch.subscribe(undefined, {
      onData: (c) => seenA.push(`${c.session.id}:${c.session.state}`),
    });
    const subB = b.sessions.watch.subscribe(undefined, {
      onData: (c) => seenB.push(c.session.id),
    });
    try {
      // The subscription is live once a change made after it reaches us.
      const found = await eventuallyFound(
        async () => {
          const created = await a.sessions.create.mutate({ template: "demo-desktop" });
          await eventuallyFound(() => seenA.some((x) => x.startsWith(created.id)), {
            timeoutMs: 500,
          }).catch(() => undefined);
          return seenA.some((x) => x.startsWith(created.id)) ? created : undefined;
        },
        { timeoutMs: WAIT.long, what: "alice sees her own session created" },
      );
      assert.ok(found);
      const s = found;
      await a.sessions.stop.mutate({ id: s.id });
      await eventuallyFound(() => seenA.includes(`${s.id}:stopping`), {
        timeoutMs: WAIT.long,
        what: "the stop reaches the watcher",
      });
      assert.equal(seenB.length, 0, "bob must not see alice's sessions");

      // One session's watch starts with its current state.
      const one: string[] = [];
      const subOne = a.sessions.watch.subscribe(
        { sessionId: s.id },
        {
          onData: (c) => one.push(c.session.state),
        },
      );
      try {
        await eventuallyFound(() => one[0] === "stopping", { timeoutMs: WAIT.long });
      } finally {
        subOne.unsubscribe();
      }

      // Someone else's session id is not found, delivered as a subscription error.
      const err = await new Promise<unknown>((resolve) => {
        const sub = b.sessions.watch.subscribe(
          { sessionId: s.id },
          {
            onError: (e) => {
              sub.unsubscribe();
              resolve(e);
            },
          },
        );
      });
      assert.ok(err instanceof TRPCClientError);
      assert.equal(err.data?.code, "NOT_FOUND");
    } finally {
      subA.unsubscribe();
      subB.unsubscribe();
    }
  });

  test("agents: operators only; admins act; the watch sends snapshots", async () => {
    await using fx = await startTrpcFixture({ agentPollMs: 50 });
    await fx.addAgent("agent-a");
    const alice = await fx.login("alice");
    const root = await fx.login("root");
    const a = alice.client;
    const r = root.client;
    assert.equal(await codeOf(a.agents.list.query()), "FORBIDDEN");
    assert.equal(await codeOf(a.agents.drain.mutate({ id: "agent-a" })), "FORBIDDEN");
    const list = await r.agents.list.query();
    assert.deepEqual(
      list.agents.map((x) => [x.id, x.state]),
      [["agent-a", "online"]],
    );
    const snapshots: string[][] = [];
    const sub = r.agents.watch.subscribe(undefined, {
      onData: (d) => snapshots.push(d.agents.map((x) => `${x.id}:${x.state}`)),
    });
    try {
      await eventuallyFound(() => snapshots.length >= 1, { timeoutMs: WAIT.long });
      const drained = await r.agents.drain.mutate({ id: "agent-a" });
      assert.equal(drained.state, "draining");
      await eventuallyFound(() => snapshots.at(-1)?.includes("agent-a:draining"), {
        timeoutMs: WAIT.long,
        what: "the drain shows up in the agents watch",
      });
      assert.equal(await codeOf(r.agents.revoke.mutate({ id: "nope" })), "NOT_FOUND");
    } finally {
      sub.unsubscribe();
    }
  });
});
