/**
 * The authorization matrix: every RPC of every public service, called
 * by anonymous / user / other user / operator / admin through a real Connect client over
 * HTTP/2 against a real control-plane pod (real handlers, real interceptor, real Postgres).
 * The services' methods are enumerated from the generated descriptors, so an RPC added to a
 * proto without a row here fails the test.
 *
 * The audit log is checked against the same matrix: every call of a state-changing RPC, by
 * every kind of caller, allowed or refused, leaves exactly one audit entry with the outcome the
 * caller received (found by the call's x-request-id); every public RPC is either audited or
 * declared read-only (edge/audited-calls.ts), and so is every tRPC mutation.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as reflV1 from "@streamspace/proto/grpc/reflection/v1/reflection_pb";
import * as reflV1alpha from "@streamspace/proto/grpc/reflection/v1alpha/reflection_pb";
import { Health } from "@streamspace/proto/health/v1/health_pb";
import { AgentService } from "@streamspace/proto/streamspace/v1/agent_service_pb";
import { AuditService } from "@streamspace/proto/streamspace/v1/audit_service_pb";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { SessionService } from "@streamspace/proto/streamspace/v1/session_service_pb";
import { TemplateService } from "@streamspace/proto/streamspace/v1/template_service_pb";
import { Role } from "@streamspace/proto/streamspace/v1/types_pb";
import { UserService } from "@streamspace/proto/streamspace/v1/user_service_pb";
import {
  AUDITED_CALLS,
  AUDITED_PROCEDURES,
  outcomeName,
  READ_ONLY_METHODS,
} from "../edge/audited-calls.ts";
import { createDatabase } from "../store/database.ts";
import { PgAgentStore } from "../store/pg-agent-store.ts";
import { registerAgent } from "../store/test-kit.ts";
import { startTestControlPlane, type TestControlPlane } from "../testing/test-control-plane.ts";
import { appRouter } from "../trpc/router.ts";

/** Every service the public port serves (AgentGateway is agent-only, with its own credential). */
const PUBLIC_SERVICES: DescService[] = [
  AuthService,
  UserService,
  SessionService,
  TemplateService,
  AgentService,
  AuditService,
  Health,
  reflV1.ServerReflection,
  reflV1alpha.ServerReflection,
];

type Who = "anonymous" | "user" | "other" | "operator" | "admin";
const WHO: Who[] = ["anonymous", "user", "other", "operator", "admin"];
type Expect = "OK" | Code;
/** Expected outcome per caller, in WHO order. */
type Cells = [Expect, Expect, Expect, Expect, Expect];

const U = Code.Unauthenticated;
const D = Code.PermissionDenied;
const N = Code.NotFound;
const SIGNED_IN: Cells = [U, "OK", "OK", "OK", "OK"];
const EVERYONE: Cells = ["OK", "OK", "OK", "OK", "OK"];
/** Owner, operators and admins; another user gets NOT_FOUND (existence is not leaked). */
const OWNER_OR_STAFF: Cells = [U, "OK", N, "OK", "OK"];
const OPERATOR_UP: Cells = [U, D, D, "OK", "OK"];
const ADMIN_ONLY: Cells = [U, D, D, D, "OK"];

interface Ctx {
  /** Call options carrying `who`'s credential (none for anonymous). */
  opts(who: Who, fresh?: boolean): Promise<{ headers: Record<string, string> }>;
  clients: Clients;
  fixtures: Fixtures;
}
type Clients = {
  auth: Client<typeof AuthService>;
  users: Client<typeof UserService>;
  sessions: Client<typeof SessionService>;
  templates: Client<typeof TemplateService>;
  agents: Client<typeof AgentService>;
  audit: Client<typeof AuditService>;
  health: Client<typeof Health>;
  reflV1: Client<typeof reflV1.ServerReflection>;
  reflV1alpha: Client<typeof reflV1alpha.ServerReflection>;
};
interface Fixtures {
  /** A session owned by "user", optionally forced into a state. */
  session(state?: "running" | "hibernated"): Promise<string>;
  template(): Promise<string>;
  agent(state: "pending" | "online"): Promise<string>;
  throwawayUser(): Promise<string>;
  userRefreshToken(who: Exclude<Who, "anonymous">): Promise<string>;
  userApiKey(): Promise<string>;
}

const uniq = () => randomBytes(4).toString("hex");
/** The x-request-id the matrix's calls carry, so each call's audit entry can be found. */
let requestId = "";

/**
 * Reads a server stream up to its first message: an error is a refusal, a message means it was
 * accepted. Every stream in the matrix answers at once when it accepts (WatchSessions with a
 * session id sends that session first, Health.Watch the current status), so no timer decides.
 */
async function openStream(stream: AsyncIterable<unknown>, signal: AbortController): Promise<void> {
  try {
    for await (const _ of stream) break;
  } catch (err) {
    if (ConnectError.from(err).code !== Code.Canceled) throw err;
  } finally {
    signal.abort();
  }
}

const ROWS: Record<string, { cells: Cells; call: (c: Ctx, who: Who) => Promise<unknown> }> = {
  // --- AuthService ---
  "streamspace.v1.AuthService/Login": {
    cells: EVERYONE,
    call: async (c, who) =>
      c.clients.auth.login({ username: "mx-user", password: "mx-password-1" }, await c.opts(who)),
  },
  "streamspace.v1.AuthService/Refresh": {
    cells: EVERYONE,
    call: async (c, who) =>
      c.clients.auth.refresh(
        { refreshToken: await c.fixtures.userRefreshToken("user") },
        await c.opts(who),
      ),
  },
  "streamspace.v1.AuthService/Logout": {
    cells: SIGNED_IN,
    call: async (c, who) => {
      const refreshToken = who === "anonymous" ? "" : await c.fixtures.userRefreshToken(who);
      return c.clients.auth.logout({ refreshToken }, await c.opts(who, true));
    },
  },
  "streamspace.v1.AuthService/WhoAmI": {
    cells: SIGNED_IN,
    call: async (c, who) => c.clients.auth.whoAmI({}, await c.opts(who)),
  },
  "streamspace.v1.AuthService/CreateApiKey": {
    cells: SIGNED_IN,
    call: async (c, who) =>
      c.clients.auth.createApiKey({ name: `mx-${uniq()}` }, await c.opts(who)),
  },
  "streamspace.v1.AuthService/ListApiKeys": {
    cells: SIGNED_IN,
    call: async (c, who) => c.clients.auth.listApiKeys({}, await c.opts(who)),
  },
  "streamspace.v1.AuthService/RevokeApiKey": {
    // Keys are personal: only the owner, or an admin cleaning up a leak.
    cells: [U, "OK", N, N, "OK"],
    call: async (c, who) =>
      c.clients.auth.revokeApiKey({ id: await c.fixtures.userApiKey() }, await c.opts(who)),
  },
  // --- UserService ---
  "streamspace.v1.UserService/CreateUser": {
    cells: ADMIN_ONLY,
    call: async (c, who) =>
      c.clients.users.createUser(
        { username: `mx-new-${uniq()}`, password: "mx-password-1", role: Role.USER },
        await c.opts(who),
      ),
  },
  "streamspace.v1.UserService/ListUsers": {
    // Operators read the list (sessions name their owners by id); only admins change it.
    cells: OPERATOR_UP,
    call: async (c, who) => c.clients.users.listUsers({}, await c.opts(who)),
  },
  "streamspace.v1.UserService/DisableUser": {
    cells: ADMIN_ONLY,
    call: async (c, who) =>
      c.clients.users.disableUser({ id: await c.fixtures.throwawayUser() }, await c.opts(who)),
  },
  "streamspace.v1.UserService/EnableUser": {
    cells: ADMIN_ONLY,
    call: async (c, who) =>
      c.clients.users.enableUser({ id: await c.fixtures.throwawayUser() }, await c.opts(who)),
  },
  "streamspace.v1.UserService/SetUserRole": {
    cells: ADMIN_ONLY,
    call: async (c, who) =>
      c.clients.users.setUserRole(
        { id: await c.fixtures.throwawayUser(), role: Role.OPERATOR },
        await c.opts(who),
      ),
  },
  "streamspace.v1.UserService/ResetUserPassword": {
    cells: ADMIN_ONLY,
    call: async (c, who) =>
      c.clients.users.resetUserPassword(
        { id: await c.fixtures.throwawayUser(), password: "mx-password-2" },
        await c.opts(who),
      ),
  },
  // --- SessionService ---
  "streamspace.v1.SessionService/CreateSession": {
    cells: SIGNED_IN,
    call: async (c, who) =>
      c.clients.sessions.createSession({ template: "demo-desktop" }, await c.opts(who)),
  },
  "streamspace.v1.SessionService/GetSession": {
    cells: OWNER_OR_STAFF,
    call: async (c, who) =>
      c.clients.sessions.getSession({ id: await c.fixtures.session() }, await c.opts(who)),
  },
  "streamspace.v1.SessionService/ListSessions": {
    cells: SIGNED_IN,
    call: async (c, who) => c.clients.sessions.listSessions({}, await c.opts(who)),
  },
  "streamspace.v1.SessionService/StopSession": {
    cells: OWNER_OR_STAFF,
    call: async (c, who) =>
      c.clients.sessions.stopSession(
        { id: await c.fixtures.session("running") },
        await c.opts(who),
      ),
  },
  "streamspace.v1.SessionService/HibernateSession": {
    cells: OWNER_OR_STAFF,
    call: async (c, who) =>
      c.clients.sessions.hibernateSession(
        { id: await c.fixtures.session("running") },
        await c.opts(who),
      ),
  },
  "streamspace.v1.SessionService/WakeSession": {
    cells: OWNER_OR_STAFF,
    call: async (c, who) =>
      c.clients.sessions.wakeSession(
        { id: await c.fixtures.session("hibernated") },
        await c.opts(who),
      ),
  },
  "streamspace.v1.SessionService/DeleteSession": {
    cells: OWNER_OR_STAFF,
    call: async (c, who) =>
      c.clients.sessions.deleteSession({ id: await c.fixtures.session() }, await c.opts(who)),
  },
  "streamspace.v1.SessionService/CreateViewerToken": {
    cells: OWNER_OR_STAFF,
    call: async (c, who) =>
      c.clients.sessions.createViewerToken(
        { sessionId: await c.fixtures.session("running") },
        await c.opts(who),
      ),
  },
  "streamspace.v1.SessionService/WatchSessions": {
    cells: OWNER_OR_STAFF,
    call: async (c, who) => {
      const id = await c.fixtures.session();
      const ac = new AbortController();
      await openStream(
        c.clients.sessions.watchSessions(
          { sessionId: id },
          { ...(await c.opts(who)), signal: ac.signal },
        ),
        ac,
      );
    },
  },
  // --- TemplateService ---
  "streamspace.v1.TemplateService/CreateTemplate": {
    cells: OPERATOR_UP,
    call: async (c, who) =>
      c.clients.templates.createTemplate(
        { template: { name: `mx-t-${uniq()}`, image: "builtin:demo" } },
        await c.opts(who),
      ),
  },
  "streamspace.v1.TemplateService/GetTemplate": {
    cells: SIGNED_IN,
    call: async (c, who) =>
      c.clients.templates.getTemplate({ id: "demo-desktop" }, await c.opts(who)),
  },
  "streamspace.v1.TemplateService/ListTemplates": {
    cells: SIGNED_IN,
    call: async (c, who) => c.clients.templates.listTemplates({}, await c.opts(who)),
  },
  "streamspace.v1.TemplateService/UpdateTemplate": {
    cells: OPERATOR_UP,
    call: async (c, who) => {
      const name = await c.fixtures.template();
      const { template } = await c.clients.templates.getTemplate(
        { id: name },
        await c.opts("admin"),
      );
      return c.clients.templates.updateTemplate(
        { template: { ...template!, description: "changed" } },
        await c.opts(who),
      );
    },
  },
  "streamspace.v1.TemplateService/DeleteTemplate": {
    cells: OPERATOR_UP,
    call: async (c, who) =>
      c.clients.templates.deleteTemplate({ id: await c.fixtures.template() }, await c.opts(who)),
  },
  // --- AgentService ---
  "streamspace.v1.AgentService/ListAgents": {
    cells: OPERATOR_UP,
    call: async (c, who) => c.clients.agents.listAgents({}, await c.opts(who)),
  },
  "streamspace.v1.AgentService/GetAgent": {
    cells: OPERATOR_UP,
    call: async (c, who) => c.clients.agents.getAgent({ id: "mx-agent" }, await c.opts(who)),
  },
  "streamspace.v1.AgentService/ApproveAgent": {
    cells: ADMIN_ONLY,
    call: async (c, who) =>
      c.clients.agents.approveAgent({ id: await c.fixtures.agent("pending") }, await c.opts(who)),
  },
  "streamspace.v1.AgentService/RevokeAgent": {
    cells: ADMIN_ONLY,
    call: async (c, who) =>
      c.clients.agents.revokeAgent({ id: await c.fixtures.agent("online") }, await c.opts(who)),
  },
  "streamspace.v1.AgentService/DrainAgent": {
    cells: ADMIN_ONLY,
    call: async (c, who) =>
      c.clients.agents.drainAgent({ id: await c.fixtures.agent("online") }, await c.opts(who)),
  },
  "streamspace.v1.AgentService/RotateAgentCredential": {
    cells: ADMIN_ONLY,
    call: async (c, who) =>
      c.clients.agents.rotateAgentCredential(
        { id: await c.fixtures.agent("online") },
        await c.opts(who),
      ),
  },
  // --- AuditService ---
  "streamspace.v1.AuditService/ListAuditEvents": {
    cells: ADMIN_ONLY,
    call: async (c, who) => c.clients.audit.listAuditEvents({}, await c.opts(who)),
  },
  // --- health and reflection: open to probes and grpcurl ---
  "grpc.health.v1.Health/Check": {
    cells: EVERYONE,
    call: async (c, who) => c.clients.health.check({ service: "" }, await c.opts(who)),
  },
  "grpc.health.v1.Health/List": {
    cells: EVERYONE,
    call: async (c, who) => c.clients.health.list({}, await c.opts(who)),
  },
  "grpc.health.v1.Health/Watch": {
    cells: EVERYONE,
    call: async (c, who) => {
      const ac = new AbortController();
      await openStream(
        c.clients.health.watch({ service: "" }, { ...(await c.opts(who)), signal: ac.signal }),
        ac,
      );
    },
  },
  "grpc.reflection.v1.ServerReflection/ServerReflectionInfo": {
    cells: EVERYONE,
    call: async (c, who) => {
      async function* one() {
        yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
      }
      for await (const res of c.clients.reflV1.serverReflectionInfo(one(), await c.opts(who))) {
        assert.equal(res.messageResponse.case, "listServicesResponse");
      }
    },
  },
  "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": {
    cells: EVERYONE,
    call: async (c, who) => {
      async function* one() {
        yield { host: "", messageRequest: { case: "listServices" as const, value: "" } };
      }
      for await (const res of c.clients.reflV1alpha.serverReflectionInfo(
        one(),
        await c.opts(who),
      )) {
        assert.equal(res.messageResponse.case, "listServicesResponse");
      }
    },
  },
};

describe("authorization matrix", () => {
  let cp: TestControlPlane;
  let db: Awaited<ReturnType<typeof createDatabase>>["db"];
  let ctx: Ctx;

  before(async () => {
    cp = await startTestControlPlane();
    ({ db } = await createDatabase({ databaseUrl: cp.databaseUrl, poolSize: 2 }));
    const transport = createGrpcTransport({ baseUrl: cp.url });
    const clients: Clients = {
      auth: createClient(AuthService, transport),
      users: createClient(UserService, transport),
      sessions: createClient(SessionService, transport),
      templates: createClient(TemplateService, transport),
      agents: createClient(AgentService, transport),
      audit: createClient(AuditService, transport),
      health: createClient(Health, transport),
      reflV1: createClient(reflV1.ServerReflection, transport),
      reflV1alpha: createClient(reflV1alpha.ServerReflection, transport),
    };
    const admin = { headers: { authorization: `Bearer ${await cp.adminToken()}` } };
    const names = { user: "mx-user", other: "mx-other", operator: "mx-operator" } as const;
    for (const [who, username] of Object.entries(names)) {
      await clients.users.createUser(
        {
          username,
          password: "mx-password-1",
          role: who === "operator" ? Role.OPERATOR : Role.USER,
        },
        admin,
      );
    }
    const agents = new PgAgentStore(db);
    const addAgent = (id: string, state: "pending" | "online") =>
      registerAgent(agents, { id, state, maxSessions: 1000 });
    await addAgent("mx-agent", "online");
    const usernameOf = (who: Exclude<Who, "anonymous">) => (who === "admin" ? "admin" : names[who]);
    const passwordOf = (who: Exclude<Who, "anonymous">) =>
      who === "admin" ? "admin-password-for-tests" : "mx-password-1";
    const cache = new Map<Who, string>();
    const loginAs = async (who: Exclude<Who, "anonymous">) =>
      (await clients.auth.login({ username: usernameOf(who), password: passwordOf(who) })).tokens!;
    const opts: Ctx["opts"] = async (who, fresh = false) => {
      const tag: Record<string, string> = requestId ? { "x-request-id": requestId } : {};
      if (who === "anonymous") return { headers: tag };
      let token = fresh ? undefined : cache.get(who);
      if (!token) {
        token = (await loginAs(who)).accessToken;
        if (!fresh) cache.set(who, token);
      }
      return { headers: { ...tag, authorization: `Bearer ${token}` } };
    };
    const setState = (id: string, state: string) =>
      db
        .updateTable("sessions")
        .set({ state } as never)
        .where("id", "=", id)
        .execute();
    const fixtures: Fixtures = {
      async session(state) {
        const { session } = await clients.sessions.createSession(
          { template: "demo-desktop" },
          await opts("user"),
        );
        if (state) await setState(session!.id, state);
        return session!.id;
      },
      async template() {
        const name = `mx-t-${uniq()}`;
        await clients.templates.createTemplate(
          { template: { name, image: "builtin:demo" } },
          admin,
        );
        return name;
      },
      async agent(state) {
        const id = `mx-agent-${uniq()}`;
        await addAgent(id, state);
        if (state === "online") await clients.agents.approveAgent({ id }, admin).catch(() => {});
        return id;
      },
      async throwawayUser() {
        const { user } = await clients.users.createUser(
          { username: `mx-tmp-${uniq()}`, password: "mx-password-1", role: Role.USER },
          admin,
        );
        return user!.id;
      },
      async userRefreshToken(who) {
        return (await loginAs(who)).refreshToken;
      },
      async userApiKey() {
        const { apiKey } = await clients.auth.createApiKey(
          { name: `mx-${uniq()}` },
          await opts("user"),
        );
        return apiKey!.id;
      },
    };
    ctx = { opts, clients, fixtures };
  });

  after(async () => {
    await db?.destroy();
    await cp?.close();
  });

  it("has exactly one row per RPC of every public service", () => {
    const rpcs = PUBLIC_SERVICES.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`));
    const missing = rpcs.filter((r) => !(r in ROWS));
    const extra = Object.keys(ROWS).filter((r) => !rpcs.includes(r));
    assert.deepEqual(missing, [], "add a row to ROWS for every new RPC");
    assert.deepEqual(extra, [], "remove rows for RPCs that no longer exist");
  });

  it("audits every public RPC that is not read-only, and every tRPC mutation", () => {
    const rpcs = PUBLIC_SERVICES.flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`));
    const unclassified = rpcs.filter((r) => !(r in AUDITED_CALLS) && !READ_ONLY_METHODS.has(r));
    assert.deepEqual(unclassified, [], "add each RPC to AUDITED_CALLS or READ_ONLY_METHODS");
    const both = rpcs.filter((r) => r in AUDITED_CALLS && READ_ONLY_METHODS.has(r));
    assert.deepEqual(both, []);
    // tRPC keeps a flat map of every procedure by its dotted path beside the nested record.
    const procedures = appRouter._def.procedures as unknown as Record<
      string,
      { _def: { type: string } }
    >;
    const mutations = Object.entries(procedures)
      .filter(([, p]) => p._def.type === "mutation")
      .map(([path]) => path);
    assert.ok(mutations.includes("sessions.create"), `mutations: ${mutations.join(", ")}`);
    const unaudited = mutations.filter((m) => !((AUDITED_PROCEDURES[m] ?? "") in AUDITED_CALLS));
    assert.deepEqual(unaudited, [], "map each tRPC mutation to its RPC in AUDITED_PROCEDURES");
  });

  for (const [rpc, row] of Object.entries(ROWS)) {
    it(rpc, async () => {
      const got: string[] = [];
      const want: string[] = [];
      const audited: string[] = [];
      const heard: string[] = [];
      for (const [i, who] of WHO.entries()) {
        const expected = row.cells[i]!;
        let actual: string;
        let message = "";
        const id = `mx-${uniq()}`;
        requestId = id;
        try {
          await row.call(ctx, who);
          actual = "OK";
        } catch (err) {
          const ce = ConnectError.from(err);
          actual = Code[ce.code];
          message = ce.rawMessage;
        } finally {
          requestId = "";
        }
        const exp = expected === "OK" ? "OK" : Code[expected];
        got.push(`${who}=${actual}${actual !== exp && message ? ` (${message})` : ""}`);
        want.push(`${who}=${exp}`);
        const call = AUDITED_CALLS[rpc];
        if (call) {
          // The entry is written before the answer, so it is there now.
          const entries = await db
            .selectFrom("audit_log")
            .select(["outcome", "actor_id", "transport", "source"])
            .where("request_id", "=", id)
            .where("action", "=", call.action)
            .execute();
          heard.push(`${who}=${actual === "OK" ? "ok" : outcomeName(actual)}`);
          audited.push(
            `${who}=${entries.map((e) => e.outcome).join("+") || "(no entry)"}${
              entries.some((e) => e.transport !== "grpc" || !e.source)
                ? " (no transport/source)"
                : ""
            }${entries.some((e) => actual === "OK" && !e.actor_id) ? " (no actor)" : ""}`,
          );
        }
      }
      assert.deepEqual(got, want);
      assert.deepEqual(audited, heard);
    });
  }

  it("lists another user's API keys for admins only", async () => {
    const got: string[] = [];
    const userId = await ctx.fixtures.throwawayUser();
    for (const who of WHO) {
      const r = await ctx.clients.auth
        .listApiKeys({ userId }, await ctx.opts(who))
        .then(() => "OK")
        .catch((e) => Code[ConnectError.from(e).code]);
      got.push(`${who}=${r}`);
    }
    // Keys are credentials: operators manage their own only.
    const want = [
      "Unauthenticated",
      "PermissionDenied",
      "PermissionDenied",
      "PermissionDenied",
      "OK",
    ];
    assert.deepEqual(
      got,
      WHO.map((w, i) => `${w}=${want[i]}`),
    );
  });

  it("anonymous calls hear how to sign in; bad tokens hear why they were refused", async () => {
    const c = ctx.clients;
    const anon = await c.sessions.listSessions({}).catch((e) => ConnectError.from(e));
    assert.ok(anon instanceof ConnectError);
    assert.equal(
      anon.rawMessage,
      "Sign in first: send 'authorization: Bearer <access token or API key>'.",
    );
    const tampered = await c.auth
      .whoAmI({}, { headers: { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x" } })
      .catch((e) => ConnectError.from(e));
    assert.ok(tampered instanceof ConnectError);
    assert.equal(tampered.code, Code.Unauthenticated);
    // A stale token must not block signing in again.
    const login = await c.auth.login(
      { username: "mx-user", password: "mx-password-1" },
      { headers: { authorization: "Bearer garbage" } },
    );
    assert.ok(login.tokens?.accessToken);
    // An API key acts as its owner: it may read the owner's session, not a stranger's.
    const { secret } = await c.auth.createApiKey({ name: "mx-key" }, await ctx.opts("user"));
    const keyOpts = { headers: { authorization: `Bearer ${secret}` } };
    const who = await c.auth.whoAmI({}, keyOpts);
    assert.equal(who.user?.username, "mx-user");
    const sid = await ctx.fixtures.session();
    assert.equal((await c.sessions.getSession({ id: sid }, keyOpts)).session?.id, sid);
    const keyMint = await c.auth
      .createApiKey({ name: "child" }, keyOpts)
      .catch((e) => ConnectError.from(e));
    assert.ok(keyMint instanceof ConnectError);
    assert.equal(keyMint.code, Code.PermissionDenied);
  });
});
