import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type CallOptions, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus as Serving,
} from "@streamspace/proto/health/v1/health_pb";
import { AgentService } from "@streamspace/proto/streamspace/v1/agent_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import { AgentState, SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { seedDefaultTemplates } from "../store/seed.ts";
import {
  addAgent,
  type CoreFixture,
  createCoreFixture,
  eventually,
  WAIT,
} from "../store/test-kit.ts";
import { startTestConnectServer, type TestConnectServer } from "./test-server.ts";

const run = promisify(execFile);

let f: CoreFixture;
let srv: TestConnectServer;
before(async () => {
  f = await createCoreFixture();
  await seedDefaultTemplates(f.tdb.db);
  await addAgent(f, { id: "agent-1", maxSessions: 2 });
  await addAgent(f, { id: "agent-new", maxSessions: 2, state: "pending" });
  srv = await startTestConnectServer(f);
});
after(async () => {
  await srv[Symbol.asyncDispose]();
  await f[Symbol.asyncDispose]();
});

const transport = () => createGrpcTransport({ baseUrl: srv.url });
const as = (name?: string): CallOptions => ({
  headers: name ? [["x-test-principal", name]] : [],
});
const sessions = () => createClient(SessionService, transport());

async function code(p: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await p;
  } catch (e) {
    const ce = ConnectError.from(e);
    return { code: ce.code, message: ce.rawMessage };
  }
  assert.fail("expected an error");
}

describe("Connect over gRPC (HTTP/2)", () => {
  test("templates: any signed-in user lists the seeded defaults; writes need operator", async () => {
    const t = createClient(TemplateService, transport());
    const res = await t.listTemplates({ pageSize: 10 }, as("alice"));
    assert.deepEqual(
      res.templates.map((x) => x.name),
      ["demo-desktop", "desktop", "web-browser", "xterm-desktop"],
    );
    const got = await t.getTemplate({ id: "xterm-desktop" }, as("alice"));
    assert.deepEqual(got.template?.command, ["xterm"]);
    const denied = await code(
      t.createTemplate({ template: { name: "x", image: "i" } }, as("alice")),
    );
    assert.equal(denied.code, Code.PermissionDenied);
    const bad = await code(
      t.createTemplate({ template: { name: "Bad Name", image: "i" } }, as("operator")),
    );
    assert.equal(bad.code, Code.InvalidArgument);
    assert.match(bad.message, /^name: must be lowercase/);
    const dup = await code(
      t.createTemplate({ template: { name: "demo-desktop", image: "i" } }, as("operator")),
    );
    assert.equal(dup.code, Code.AlreadyExists);
  });

  test("sessions: create, get, list, watch, and the error codes people hit", async () => {
    const c = sessions();
    const created = await c.createSession({ template: "demo-desktop" }, as("alice"));
    const s = created.session;
    assert.ok(s);
    assert.equal(s.state, SessionState.SCHEDULED);
    assert.equal(s.viewerPath, `/vnc/${s.id}`);
    assert.equal((await c.getSession({ id: s.id }, as("alice"))).session?.id, s.id);
    assert.equal((await c.listSessions({ pageSize: 5 }, as("alice"))).sessions.length, 1);

    assert.equal((await code(c.getSession({ id: s.id }))).code, Code.Unauthenticated);
    assert.equal((await code(c.getSession({ id: s.id }, as("bob")))).code, Code.NotFound);
    assert.equal(
      (await code(c.getSession({ id: "s-123" }, as("alice")))).code,
      Code.InvalidArgument,
    );
    const big = await code(c.listSessions({ pageSize: 10000 }, as("alice")));
    assert.equal(big.code, Code.InvalidArgument);
    assert.match(big.message, /^page_size: must be between 0 and 500/);
    assert.equal(
      (await code(c.listSessions({ states: [42 as SessionState] }, as("alice")))).code,
      Code.InvalidArgument,
    );
    const wrong = await code(c.hibernateSession({ id: s.id }, as("alice")));
    assert.equal(wrong.code, Code.FailedPrecondition);
    assert.match(wrong.message, /is scheduled; only running sessions can be hibernated/);
    assert.equal(
      (await code(c.createSession({ template: "missing" }, as("alice")))).code,
      Code.NotFound,
    );
    const viewer = await code(c.createViewerToken({ sessionId: s.id }, as("alice")));
    assert.equal(viewer.code, Code.FailedPrecondition);

    await c.createSession({ template: "demo-desktop" }, as("bob"));
    const full = await code(c.createSession({ template: "demo-desktop" }, as("alice")));
    assert.equal(full.code, Code.ResourceExhausted);
    assert.match(full.message, /1 agents matched, all full/);

    const oversized = await code(
      c.createSession({ template: "demo-desktop", displayName: "x".repeat(5 << 20) }, as("alice")),
    );
    assert.equal(oversized.code, Code.ResourceExhausted);

    // Watch one session: its current state first, then the stop.
    const ac = new AbortController();
    const seen: SessionState[] = [];
    const watching = (async () => {
      try {
        for await (const m of c.watchSessions(
          { sessionId: s.id },
          { ...as("alice"), signal: ac.signal },
        )) {
          seen.push(m.session?.state ?? SessionState.UNSPECIFIED);
        }
      } catch (e) {
        if (ConnectError.from(e).code !== Code.Canceled) throw e;
      }
    })();
    await eventually(() => assert.equal(seen.length, 1), { timeoutMs: WAIT.short });
    await c.stopSession({ id: s.id }, as("alice"));
    await eventually(
      () => assert.deepEqual(seen, [SessionState.SCHEDULED, SessionState.STOPPING]),
      { timeoutMs: WAIT.short },
    );
    ac.abort();
    await watching;
    await eventually(() => assert.equal((f.bus as unknown as { size: number }).size, 0), {
      timeoutMs: WAIT.short,
    });
  });

  test("agents: operators read, admins approve and drain; users are denied", async () => {
    const a = createClient(AgentService, transport());
    assert.equal((await code(a.listAgents({}, as("alice")))).code, Code.PermissionDenied);
    const list = await a.listAgents({ states: [AgentState.PENDING] }, as("operator"));
    assert.deepEqual(
      list.agents.map((x) => x.id),
      ["agent-new"],
    );
    assert.equal(
      (await code(a.approveAgent({ id: "agent-new" }, as("operator")))).code,
      Code.PermissionDenied,
    );
    const approved = await a.approveAgent({ id: "agent-new" }, as("admin"));
    assert.match(approved.credential, /^ssa_/);
    assert.notEqual(approved.agent?.state, AgentState.PENDING);
    assert.equal(
      (await code(a.approveAgent({ id: "agent-new" }, as("admin")))).code,
      Code.FailedPrecondition,
    );
    const drained = await a.drainAgent({ id: "agent-1" }, as("admin"));
    assert.equal(drained.agent?.state, AgentState.DRAINING);
    assert.equal((await code(a.getAgent({ id: "nope" }, as("operator")))).code, Code.NotFound);
    assert.equal(
      (await code(a.getAgent({ id: "bad id!" }, as("operator")))).code,
      Code.InvalidArgument,
    );
  });

  test("health: SERVING, NOT_SERVING while draining (Watch sees it), NOT_FOUND for unknown services", async () => {
    const h = createClient(Health, transport());
    assert.equal((await h.check({})).status, Serving.SERVING);
    assert.equal(
      (await h.check({ service: "streamspace.v1.SessionService" })).status,
      Serving.SERVING,
    );
    assert.equal((await code(h.check({ service: "nope.Service" }))).code, Code.NotFound);
    const ac = new AbortController();
    const seen: Serving[] = [];
    const watching = (async () => {
      try {
        for await (const m of h.watch({}, { signal: ac.signal })) seen.push(m.status);
      } catch (e) {
        if (ConnectError.from(e).code !== Code.Canceled) throw e;
      }
    })();
    await eventually(() => assert.deepEqual(seen, [Serving.SERVING]), { timeoutMs: WAIT.short });
    srv.health.setServing(false);
    assert.equal((await h.check({})).status, Serving.NOT_SERVING);
    await eventually(() => assert.deepEqual(seen, [Serving.SERVING, Serving.NOT_SERVING]), {
      timeoutMs: WAIT.short,
    });
    srv.health.setServing(true);
    ac.abort();
    await watching;
  });

  test("reflection: buf curl lists every service and calls one with no proto files (v1 and v1alpha)", async () => {
    const buf = ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge"];
    const list = await run("npx", [...buf, "--list-services", srv.url], { timeout: 60_000 });
    const names = list.stdout.trim().split("\n").sort();
    for (const n of [
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "streamspace.v1.AgentService",
      "streamspace.v1.SessionService",
      "streamspace.v1.TemplateService",
    ]) {
      assert.ok(names.includes(n), `${n} missing from ${names.join(",")}`);
    }
    const call = await run(
      "npx",
      [
        ...buf,
        "-H",
        "x-test-principal: alice",
        "--data",
        '{"page_size":1}',
        `${srv.url}/streamspace.v1.TemplateService/ListTemplates`,
      ],
      { timeout: 60_000 },
    );
    const body = JSON.parse(call.stdout) as {
      templates: { name: string }[];
      nextPageToken: string;
    };
    assert.equal(body.templates[0]?.name, "demo-desktop");
    assert.ok(body.nextPageToken);
    const alpha = await run(
      "npx",
      [
        ...buf,
        "--reflect-protocol",
        "grpc-v1alpha",
        "--data",
        "{}",
        `${srv.url}/grpc.health.v1.Health/Check`,
      ],
      { timeout: 60_000 },
    );
    assert.deepEqual(JSON.parse(alpha.stdout), { status: "SERVING" });
    const denied = await run(
      "npx",
      [...buf, "--data", "{}", `${srv.url}/streamspace.v1.SessionService/ListSessions`],
      {
        timeout: 60_000,
      },
    ).catch((e: { stderr: string }) => e);
    assert.match((denied as { stderr: string }).stderr, /unauthenticated/);
  });
});
