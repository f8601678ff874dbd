/**
 * Disposable fixtures for auth tests: a fresh Postgres database per test file (real Postgres,
 * never a fake), a Redis client, and a ready AuthCore + UserAdmin over them with a manual clock.
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import pg from "pg";
import * as authMigration from "../store/migrations/0002-auth.ts";
import * as loginThrottleMigration from "../store/migrations/0003-login-throttle.ts";
import { AuthCore } from "./auth-core.ts";
import type { AuthTables } from "./auth-schema.ts";
import { hashPassword, type ScryptParams } from "./passwords.ts";
import { MemoryRevocationStore, type RevocationStore } from "./revocation-store.ts";
import { UserAdmin } from "./user-admin.ts";

/** Cheap scrypt for tests: the algorithm is the same, only the cost differs. */
export const TEST_SCRYPT: ScryptParams = { N: 1024, r: 8, p: 1 };
export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";

function requireEnv(name: "TEST_POSTGRES_URL" | "TEST_REDIS_URL"): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: run tests with "node --import tsx scripts/test.ts <files>", which starts Postgres and Redis.`,
    );
  }
  return v;
}

/** A fresh database on the test server, dropped on dispose. */
export async function createFreshDatabase(
  prefix = "auth",
): Promise<{ url: string } & AsyncDisposable> {
  const base = requireEnv("TEST_POSTGRES_URL");
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async [Symbol.asyncDispose]() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Kysely over a fresh database with only the auth migration applied. */
export async function createAuthTestDb(): Promise<{ db: Kysely<AuthTables> } & AsyncDisposable> {
  const fresh = await createFreshDatabase();
  const pool = new pg.Pool({ connectionString: fresh.url, max: 5 });
  // DROP … WITH (FORCE) on dispose may reach a client the pool is still closing; that must not
  // surface as an uncaught error in whichever test runs next.
  pool.on("error", () => {});
  const db = new Kysely<AuthTables>({ dialect: new PostgresDialect({ pool }) });
  const migrator = new Migrator({
    db,
    provider: {
      getMigrations: async () => ({
        "0002-auth": authMigration,
        "0003-login-throttle": loginThrottleMigration,
      }),
    },
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw new Error("migrate auth test db", { cause: error });
  return {
    db,
    async [Symbol.asyncDispose]() {
      await db.destroy();
      await fresh[Symbol.asyncDispose]();
    },
  };
}

/** A Redis client on the test server, quit on dispose. */
export function createTestRedis(): Redis & AsyncDisposable {
  const redis = new Redis(requireEnv("TEST_REDIS_URL"), {
    lazyConnect: false,
    maxRetriesPerRequest: 1,
  });
  return Object.assign(redis, {
    async [Symbol.asyncDispose]() {
      await redis.quit().catch(() => redis.disconnect());
    },
  });
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
  db: Kysely<AuthTables>,
  opts: { revocations?: RevocationStore; now?: () => number } = {},
): { auth: AuthCore; users: UserAdmin } {
  const auth = new AuthCore({
    db,
    jwtSecret: TEST_JWT_SECRET,
    revocations: opts.revocations ?? new MemoryRevocationStore({ now: opts.now }),
    now: opts.now,
  });
  const users = new UserAdmin({
    db,
    scrypt: TEST_SCRYPT,
    now: opts.now,
    onDisabled: (id) => auth.revokeAllForUser(id),
  });
  return { auth, users };
}

/** Inserts a user directly (bypassing the admin check) and returns its id. */
export async function seedUser(
  db: Kysely<AuthTables>,
  username: string,
  role: "user" | "operator" | "admin",
  password = "correct horse battery",
): Promise<string> {
  const row = await db
    .insertInto("users")
    .values({
      username,
      display_name: username,
      role,
      password_hash: await hashPassword(password, TEST_SCRYPT),
      created_at: new Date(),
    })
    .returning("id")
    .executeTakeFirstOrThrow();
  return row.id;
}
