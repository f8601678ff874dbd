/**
 * watchSessions against a live control plane, with a cuttable TCP forwarder between the SDK and
 * the server so the test can drop the stream the way a restart or a network blip would.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually, eventuallyFound, WAIT } from "@streamspace/common/testing";
import { type CuttableProxy, startCuttableProxy } from "../testing/cuttable-proxy.ts";
import { type LiveControlPlane, startLiveControlPlane } from "../testing/live-control-plane.ts";
import { Code, isStreamSpaceError } from "./errors.ts";
import { SessionState } from "./gen/streamspace/v1/types_pb.ts";
import { createStreamSpaceClient, type StreamSpaceClient } from "./node.ts";
import type { SessionEvent } from "./watch-sessions.ts";

let cp: LiveControlPlane;
let proxy: CuttableProxy;
let direct: StreamSpaceClient;
before(async () => {
  cp = await startLiveControlPlane();
  proxy = await startCuttableProxy(cp.address);
  direct = createStreamSpaceClient({ baseUrl: cp.url });
  await direct.signIn(cp.username, cp.password);
});
after(async () => {
  await proxy?.close();
  await cp?.stop();
});

/** Runs a watch in the background, collecting events, until `stop()`. */
function collectWatch(client: StreamSpaceClient, sessionId?: string) {
  const events: SessionEvent[] = [];
  const reconnects: Array<string | undefined> = [];
  const ctl = new AbortController();
  const done = (async () => {
    for await (const e of client.watchSessions({
      sessionId,
      signal: ctl.signal,
      maxDelayMs: 200,
      onReconnect: (_n, cause) => reconnects.push(cause?.codeName),
    })) {
      events.push(e);
    }
  })();
  return {
    events,
    reconnects,
    of: (id: string) => events.filter((e) => e.session.id === id),
    async stop() {
      ctl.abort();
      await done; // ends quietly on abort
    },
  };
}

function assertOncePerVersion(events: SessionEvent[]) {
  const last = new Map<string, bigint>();
  for (const e of events) {
    if (e.deleted) continue;
    const prev = last.get(e.session.id) ?? -1n;
    assert.ok(
      e.session.version > prev,
      `session ${e.session.id} went back to ${e.session.version}`,
    );
    last.set(e.session.id, e.session.version);
  }
}

/**
 * Creates short-lived sessions until one's transitions arrive on the stream itself (a probe
 * whose few transitions fell into a reconnect is only replayed; the next one tells).
 */
async function liveProbe(w: ReturnType<typeof collectWatch>, attempts = 5): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const probe = (await direct.sessions.createSession({ template: "demo-desktop" })).session!;
    const streamed = await eventually(() => w.of(probe.id).some((e) => !e.replayed), {
      timeoutMs: 5_000,
    }).then(
      () => true,
      () => false,
    );
    await direct.sessions.stopSession({ id: probe.id });
    if (streamed) return;
  }
  assert.fail(`no probe session was streamed in ${attempts} attempts`);
}

const running = (id: string) =>
  eventually(
    async () => (await direct.sessions.getSession({ id })).session?.state === SessionState.RUNNING,
    { timeoutMs: WAIT.long, what: `session ${id} running` },
  );

test("watching all sessions survives cut connections and replays what changed meanwhile", async () => {
  const client = createStreamSpaceClient({ baseUrl: proxy.url });
  await client.signIn(cp.username, cp.password);
  const w = collectWatch(client);
  try {
    const a = (await direct.sessions.createSession({ template: "demo-desktop" })).session!;
    await eventuallyFound(() => w.of(a.id).find((e) => e.session.state === SessionState.RUNNING), {
      timeoutMs: WAIT.long,
      what: "session A running on the watch",
    });

    // Drop the stream and keep the watch away while B starts and runs.
    proxy.pause();
    proxy.cut();
    const b = (await direct.sessions.createSession({ template: "demo-desktop" })).session!;
    await running(b.id);
    proxy.resume();
    const replayed = await eventuallyFound(() => w.of(b.id).find((e) => e.replayed), {
      timeoutMs: WAIT.long,
      what: "session B replayed after the reconnect",
    });
    assert.equal(replayed.session.state, SessionState.RUNNING);
    assert.ok(w.reconnects.length >= 1, "the watch reconnected");
    assert.ok(proxy.accepted >= 2, "over a new connection");

    // And streams live again. The server answers a watch only with its first change, so nothing
    // tells a client when its new subscription is live; a new session's transitions show it.
    await liveProbe(w);
    await direct.sessions.stopSession({ id: a.id });
    await eventuallyFound(
      () => w.of(a.id).find((e) => e.session.state === SessionState.STOPPED && !e.replayed),
      { timeoutMs: WAIT.long, what: "session A stopped, streamed after the reconnect" },
    );
    await direct.sessions.stopSession({ id: b.id });
    assertOncePerVersion(w.events);
  } finally {
    await w.stop();
  }
});

test("watching one session starts with its state, resumes after a cut, and follows it to stopped", async () => {
  const client = createStreamSpaceClient({ baseUrl: proxy.url, protocol: "connect" });
  await client.signIn(cp.username, cp.password);
  const s = (await direct.sessions.createSession({ template: "demo-desktop" })).session!;
  await running(s.id);
  const w = collectWatch(client, s.id);
  try {
    const first = await eventuallyFound(() => w.events[0], { what: "the current state first" });
    assert.equal(first.session.id, s.id);
    assert.equal(first.session.state, SessionState.RUNNING);
    const before = proxy.accepted;
    proxy.cut();
    await eventually(() => proxy.accepted > before, { what: "a new connection" });
    await direct.sessions.stopSession({ id: s.id });
    await eventuallyFound(() => w.events.find((e) => e.session.state === SessionState.STOPPED), {
      timeoutMs: WAIT.long,
      what: "the stop on the watch",
    });
    assert.ok(w.events.every((e) => e.session.id === s.id));
    assertOncePerVersion(w.events);
  } finally {
    await w.stop();
  }
});

test("a watch that can never succeed ends with the server's error instead of retrying", async () => {
  for (const [sessionId, code] of [
    ["not-a-session-id", Code.InvalidArgument],
    ["00000000-0000-4000-8000-000000000000", Code.NotFound],
  ] as const) {
    const reconnects: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const _ of direct.watchSessions({
          sessionId,
          onReconnect: (n) => reconnects.push(n),
        })) {
          assert.fail("no event expected");
        }
      })(),
      (err: unknown) => isStreamSpaceError(err, code),
    );
    assert.deepEqual(reconnects, []);
  }
});

test("a watch whose credential is gone for good stops with Unauthenticated", async () => {
  const admin = createStreamSpaceClient({ baseUrl: cp.url });
  await admin.signIn(cp.username, cp.password);
  const key = await admin.auth.createApiKey({ name: "watch-revoked" });
  await admin.auth.revokeApiKey({ id: key.apiKey!.id });
  const c = createStreamSpaceClient({ baseUrl: cp.url, apiKey: key.secret });
  await assert.rejects(
    (async () => {
      for await (const _ of c.watchSessions()) assert.fail("no event expected");
    })(),
    (err: unknown) => isStreamSpaceError(err, Code.Unauthenticated),
  );
});
