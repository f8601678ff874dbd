/**
 * What broke: tRPC procedures with input shapes of their own, looser than the domain's (template
 * name 200 vs 128, states 20 vs 10, page token 2000 vs 512), so a request was refused on one
 * road with the domain's sentence and on the other with a zod dump, or not at all. Here the
 * same bad request goes down both roads and must come back with the same code and sentence.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type CallOptions, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "@streamspace/proto/streamspace/v1/agent_service_pb";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import { AgentState, Role, SessionState } from "@streamspace/proto/streamspace/v1/types_pb";
import { UserService } from "@streamspace/proto/streamspace/v1/user_service_pb";
import { TRPCClientError } from "@trpc/client";
import { startTestConnectServer, type TestConnectServer } from "../connect/test-server.ts";
import { ERROR_TABLE } from "../edge/error-table.ts";
import { startTrpcFixture, type TestClient, type TrpcFixture } from "../trpc/trpc-test-kit.ts";

interface Refusal {
  code: string;
  message: string;
}

async function connectRefusal(p: Promise<unknown>): Promise<Refusal> {
  try {
    await p;
  } catch (err) {
    const ce = ConnectError.from(err);
    const row = Object.entries(ERROR_TABLE).find(([, v]) => v.connect === ce.code);
    return { code: row?.[0] ?? `connect:${ce.code}`, message: ce.rawMessage };
  }
  assert.fail("the Connect call was accepted");
}

async function trpcRefusal(p: Promise<unknown>): Promise<Refusal> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TRPCClientError, String(err));
    const domainCode = err.data?.domainCode as keyof typeof ERROR_TABLE | null | undefined;
    // The tRPC code must be the one the table gives the domain code the Connect road saw.
    assert.equal(err.data?.code, domainCode ? ERROR_TABLE[domainCode].trpc : "(no domain code)");
    return { code: domainCode ?? `trpc:${err.data?.code}`, message: err.message };
  }
  assert.fail("the tRPC call was accepted");
}

let srv: TestConnectServer;
let fx: TrpcFixture;
let alice: TestClient;
let root: TestClient;

// Both roads over the very same services and database, so only the transport differs.
before(async () => {
  fx = await startTrpcFixture();
  srv = await startTestConnectServer(fx.services, 0, { auth: fx.authServices });
  alice = (await fx.login("alice")).client;
  root = (await fx.login("root")).client;
});
after(async () => {
  await srv?.[Symbol.asyncDispose]();
  await fx?.[Symbol.asyncDispose]();
});

const as = (name: string): CallOptions => ({ headers: [["x-test-principal", name]] });
const transport = () => createGrpcTransport({ baseUrl: srv.url });

/** Calls the Connect road, then the tRPC road (one at a time, so no refusal goes unheard). */
async function same(
  connect: () => Promise<unknown>,
  trpc: () => Promise<unknown>,
  field: RegExp,
): Promise<void> {
  const c = await connectRefusal(connect());
  const t = await trpcRefusal(trpc());
  assert.equal(c.code, "invalid_argument", c.message);
  assert.match(c.message, field);
  assert.deepEqual(t, c);
}

describe("one request, two roads, one refusal", () => {
  test("a template name longer than the domain allows (and than the loose tRPC shape did)", async () => {
    const template = "t".repeat(300);
    await same(
      () => createClient(SessionService, transport()).createSession({ template }, as("alice")),
      () => alice.sessions.create.mutate({ template }),
      /^template: /,
    );
  });

  test("a page token longer than any the server hands out", async () => {
    const pageToken = "x".repeat(3000);
    await same(
      () => createClient(SessionService, transport()).listSessions({ pageToken }, as("alice")),
      () => alice.sessions.list.query({ pageToken }),
      /^page_token: /,
    );
    await same(
      () => createClient(TemplateService, transport()).listTemplates({ pageToken }, as("alice")),
      () => alice.templates.list.query({ pageToken }),
      /^page_token: /,
    );
  });

  test("too many state filters", async () => {
    await same(
      () =>
        createClient(SessionService, transport()).listSessions(
          { states: Array(21).fill(SessionState.RUNNING) },
          as("alice"),
        ),
      () => alice.sessions.list.query({ states: Array(21).fill("running") }),
      /^states: /,
    );
    await same(
      () =>
        createClient(AgentService, transport()).listAgents(
          { states: Array(11).fill(AgentState.ONLINE) },
          as("admin"),
        ),
      () => root.agents.list.query({ states: Array(11).fill("online") }),
      /^states: /,
    );
  });

  test("a page size above the limit", async () => {
    await same(
      () =>
        createClient(TemplateService, transport()).listTemplates({ pageSize: 501 }, as("alice")),
      () => alice.templates.list.query({ pageSize: 501 }),
      /^page_size: /,
    );
  });

  test("an empty or malformed id", async () => {
    await same(
      () => createClient(SessionService, transport()).getSession({ id: "" }, as("alice")),
      () => alice.sessions.get.query({ id: "" }),
      /^id: /,
    );
    await same(
      () =>
        createClient(SessionService, transport()).createViewerToken(
          { sessionId: "not-a-uuid" },
          as("alice"),
        ),
      () => alice.sessions.viewerToken.mutate({ sessionId: "not-a-uuid" }),
      /^session_id: /,
    );
    await same(
      () => createClient(AgentService, transport()).drainAgent({ id: "bad id!" }, as("admin")),
      () => root.agents.drain.mutate({ id: "bad id!" }),
      /^id: /,
    );
  });

  test("sign-in and refresh with over-long fields", async () => {
    const auth = createClient(AuthService, transport());
    const username = "u".repeat(300);
    await same(
      () => auth.login({ username, password: "correct horse battery" }),
      () => fx.client().auth.login.mutate({ username, password: "correct horse battery" }),
      /^username: /,
    );
    const refreshToken = "r".repeat(5000);
    await same(
      () => auth.refresh({ refreshToken }),
      () => fx.client().auth.refresh.mutate({ refreshToken }),
      /^refresh_token: /,
    );
  });

  test("the console's writes: templates, users and API keys", async () => {
    // The browser sends every template field as JSON (sizes as numbers); Connect as proto.
    const tpl = (o: Record<string, unknown>) => ({
      name: "ok-name",
      displayName: "",
      description: "",
      image: "builtin:demo",
      command: [],
      vncPort: 0,
      resources: { cpuMillis: 0, memoryBytes: 0 },
      env: {},
      idleTimeoutSeconds: 0,
      persistentHome: false,
      platform: "" as const,
      region: "",
      requiredLabels: {},
      ...o,
    });
    const templates = createClient(TemplateService, transport());
    await same(
      () => templates.createTemplate({ template: { name: "Bad_Name", image: "x" } }, as("admin")),
      () => root.templates.create.mutate(tpl({ name: "Bad_Name" })),
      /^name: must be lowercase/,
    );
    await same(
      () =>
        templates.createTemplate(
          { template: { name: "idle", image: "x", idleTimeout: { seconds: 99_999_999n } } },
          as("admin"),
        ),
      () => root.templates.create.mutate(tpl({ idleTimeoutSeconds: 99_999_999 })),
      /^idle_timeout_seconds: must be at most 30 days\.$/,
    );
    await same(
      () =>
        templates.createTemplate(
          { template: { name: "neg", image: "x", resources: { memoryBytes: -1n } } },
          as("admin"),
        ),
      () => root.templates.create.mutate(tpl({ resources: { cpuMillis: 0, memoryBytes: -1 } })),
      /^resources\.memory_bytes: must not be negative\.$/,
    );
    const users = createClient(UserService, transport());
    await same(
      () =>
        users.createUser(
          { username: "Bad Name", password: "long enough pw", role: Role.USER },
          as("admin"),
        ),
      () =>
        root.users.create.mutate({
          username: "Bad Name",
          password: "long enough pw",
          displayName: "",
          role: "user",
        }),
      /^username: /,
    );
    await same(
      () => users.resetUserPassword({ id: fx.users.alice, password: "short" }, as("admin")),
      () => root.users.resetPassword.mutate({ id: fx.users.alice, password: "short" }),
      /^password: must be at least 8 characters\.$/,
    );
    await same(
      () => createClient(AuthService, transport()).createApiKey({ name: " " }, as("alice")),
      () => alice.apiKeys.create.mutate({ name: " ", ttl: 0 }),
      /^name: is required/,
    );
  });
});
