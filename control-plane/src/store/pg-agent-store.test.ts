import { after, before } from "node:test";
import { runAgentRegistryCases } from "./agent-registry-cases.ts";
import { PgAgentStore } from "./pg-agent-store.ts";
import { createTestDatabase, type TestDatabase } from "./test-database.ts";

let tdb: TestDatabase;
before(async () => {
  tdb = await createTestDatabase();
});
after(() => tdb[Symbol.asyncDispose]());

runAgentRegistryCases("postgres", async () => {
  const store = new PgAgentStore(tdb.db);
  // What AgentService.revoke writes: no credential, state revoked.
  return {
    registry: store,
    revoke: async (id) => void (await store.setCredentialHash(id, null, "revoked")),
  };
});
