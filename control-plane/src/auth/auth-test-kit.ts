/**
 * Disposable fixtures for auth tests: a fresh Postgres database per test file (real Postgres,
 * never a fake) and a ready AuthCore + UserAdmin over it with a manual clock.
 */
import { createPgAuthStore } from "../store/pg-auth-store.ts";
import { createTestDatabase, type TestDatabase } from "../store/test-database.ts";
import { AuthCore } from "./auth-core.ts";
import type { AuthStore } from "./auth-ports.ts";
import { hashPassword, type ScryptParams } from "./passwords.ts";
import { MemoryRevocationStore, type RevocationStore } from "./revocation-store.ts";
import { UserAdmin } from "./user-admin.ts";

/** Cheap scrypt for tests: the algorithm is the same, only the cost differs. */
export const TEST_SCRYPT: ScryptParams = { N: 1024, r: 8, p: 1 };
export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";

/** A migrated throwaway database and the auth store over it; `db` is for inspecting rows. */
export interface AuthTestDb extends AsyncDisposable {
  db: TestDatabase["db"];
  store: AuthStore;
}

/** A fresh, fully migrated database (dropped on dispose) with the auth store on it. */
export async function createAuthTestDb(): Promise<AuthTestDb> {
  const tdb = await createTestDatabase({ poolSize: 5 });
  return {
    db: tdb.db,
    store: createPgAuthStore(tdb.db),
    [Symbol.asyncDispose]: () => tdb[Symbol.asyncDispose](),
  };
}

/** A manual clock; `advance` moves time without sleeping. */
export function manualClock(start = Date.now()): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

/** One "pod": an AuthCore and UserAdmin over a shared database and revocation store. */
export function createPod(
  store: AuthStore,
  opts: { revocations?: RevocationStore; now?: () => number } = {},
): { auth: AuthCore; users: UserAdmin } {
  const auth = new AuthCore({
    store,
    jwtSecret: TEST_JWT_SECRET,
    revocations: opts.revocations ?? new MemoryRevocationStore({ now: opts.now }),
    now: opts.now,
  });
  const users = new UserAdmin({
    store,
    scrypt: TEST_SCRYPT,
    now: opts.now,
    onDisabled: (id) => auth.revokeAllForUser(id),
  });
  return { auth, users };
}

/** Inserts a user directly (bypassing the admin check) and returns its id. */
export async function seedUser(
  store: AuthStore,
  username: string,
  role: "user" | "operator" | "admin",
  password = "correct horse battery",
): Promise<string> {
  const row = await store.users.insert({
    username,
    displayName: username,
    role,
    passwordHash: await hashPassword(password, TEST_SCRYPT),
    createdAt: new Date(),
  });
  if (!row) throw new Error(`seed user ${username}: the username is taken`);
  return row.id;
}
