/**
 * Test helpers for the core: a fresh database with the wired services, the four kinds of
 * caller the authorization rules distinguish, agents and templates in one line, and the one
 * polling wait (eventually) that tests use instead of sleeps.
 */
import type { Principal } from "../domain/principal.ts";
import { platformToProto } from "../domain/proto-mapping.ts";
import type { Agent, Platform, TemplateInput } from "../domain/types.ts";
import type { PgAgentStore } from "./pg-agent-store.ts";
import { createPgCore, type PgCore, type PgCoreOptions } from "./pg-core.ts";
import { createTestDatabase, type TestDatabase } from "./test-database.ts";

/** Test waits come from the shared set (common/src/testing.ts). */
export { eventually, WAIT } from "@streamspace/common/testing";

const user = (userId: string, role: "user" | "operator" | "admin"): Principal => ({
  kind: "user",
  userId,
  username: userId,
  role,
  via: "access_token",
});

/** Callers: a user, another user, an operator, an admin, and nobody. */
export const who = {
  alice: user("u-alice", "user"),
  bob: user("u-bob", "user"),
  operator: user("u-op", "operator"),
  admin: user("u-admin", "admin"),
  anonymous: { kind: "anonymous" } as Principal,
};

/** A migrated throwaway database plus the core wired on it. */
export interface CoreFixture extends PgCore {
  tdb: TestDatabase;
  [Symbol.asyncDispose](): Promise<void>;
}

/** `await using f = await createCoreFixture()` in each test file. */
export async function createCoreFixture(
  opts: PgCoreOptions & { poolSize?: number } = {},
): Promise<CoreFixture> {
  const tdb = await createTestDatabase({ poolSize: opts.poolSize });
  const core = createPgCore(tdb.db, opts);
  return {
    ...core,
    tdb,
    async [Symbol.asyncDispose]() {
      await core.bus.close();
      await tdb[Symbol.asyncDispose]();
    },
  };
}

/** What a test says about an agent; everything else gets a sensible default. */
export interface TestAgent {
  id: string;
  maxSessions?: number;
  platform?: Exclude<Platform, "">;
  region?: string;
  labels?: Record<string, string>;
  state?: Agent["state"];
}

/**
 * Writes an agent through the statements production uses: enrolled and connected through the
 * gateway's registry, then moved to `state` by the domain's repository (both are the one
 * PgAgentStore). No credential is set; tests that need one approve through AgentService.
 */
export async function registerAgent(agents: PgAgentStore, a: TestAgent): Promise<Agent> {
  const info = {
    platform: platformToProto(a.platform ?? "local"),
    region: a.region ?? "",
    version: "test",
    labels: a.labels ?? {},
    capacity: {
      maxSessions: a.maxSessions ?? 10,
      activeSessions: 0,
      maxCpuMillis: 4000n,
      maxMemoryBytes: 8n << 30n,
    },
  };
  const state = a.state ?? "online";
  await agents.enrolPending(a.id, info);
  await agents.markOnline(a.id, "pod-test", info, new Date());
  if (state !== "pending") await agents.setState(a.id, state);
  const agent = await agents.get(a.id);
  if (!agent) throw new Error("agent vanished");
  return agent;
}

/** Registers an agent as if it had said hello and been approved. */
export function addAgent(core: PgCore, a: TestAgent): Promise<Agent> {
  return registerAgent(core.registry, a);
}

/** A template with sensible defaults, created by the admin. */
export async function addTemplate(core: PgCore, name: string, over: Partial<TemplateInput> = {}) {
  return core.templates.create(who.admin, {
    name,
    displayName: name,
    description: "",
    image: "builtin:demo",
    command: [],
    vncPort: 0,
    resources: { cpuMillis: 100n, memoryBytes: 1n << 20n },
    env: {},
    idleTimeoutSeconds: 0,
    persistentHome: false,
    platform: "",
    region: "",
    requiredLabels: {},
    ...over,
  } satisfies TemplateInput);
}
