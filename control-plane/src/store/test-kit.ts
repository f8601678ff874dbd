/**
 * Test helpers for the core: a fresh database with the wired services, the four kinds of
 * caller the authorization rules distinguish, agents and templates in one line, and the one
 * polling wait (eventually) that tests use instead of sleeps.
 */
import type { Principal } from "../domain/principal.ts";
import type { Agent, Platform, TemplateInput } from "../domain/types.ts";
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

/** Registers an agent as if it had said hello and been approved. */
export async function addAgent(
  core: PgCore,
  a: {
    id: string;
    maxSessions?: number;
    platform?: Exclude<Platform, "">;
    region?: string;
    labels?: Record<string, string>;
    state?: Agent["state"];
  },
): Promise<Agent> {
  await core.store.agents.upsertFromHello({
    id: a.id,
    platform: a.platform ?? "local",
    region: a.region ?? "",
    version: "test",
    labels: a.labels ?? {},
    maxSessions: a.maxSessions ?? 10,
    maxCpuMillis: 4000n,
    maxMemoryBytes: 8n << 30n,
    pod: "pod-test",
    initialState: a.state ?? "online",
  });
  const agent = await core.store.agents.get(a.id);
  if (!agent) throw new Error("agent vanished");
  return agent;
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
