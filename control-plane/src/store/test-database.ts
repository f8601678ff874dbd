/**
 * A fresh, migrated Postgres database per test file, on the server the test runner started
 * (TEST_POSTGRES_URL). Dropped on dispose, so test files never see each other's rows.
 */
import { randomBytes } from "node:crypto";
import { type Kysely, sql } from "kysely";
import pg from "pg";
import { createDatabase, migrateToLatest } from "./database.ts";
import type { Database } from "./schema.ts";

/** A database that drops itself on `await using`. */
export interface TestDatabase {
  db: Kysely<Database>;
  url: string;
  /** Runs one raw SQL statement (tests that set up triggers or odd rows by hand). */
  exec(statement: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.TEST_POSTGRES_URL ?? process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      "TEST_POSTGRES_URL is not set: run tests with `node --import tsx scripts/test.ts <files>`, which starts Postgres.",
    );
  }
  return url;
}

async function onServer(statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl() });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

/** An empty database `<prefix>_<random>` on the test server (no migrations), dropped on dispose. */
export async function createFreshDatabase(
  prefix = "t",
): Promise<{ url: string } & AsyncDisposable> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await onServer(`CREATE DATABASE ${name}`);
  const u = new URL(serverUrl());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    [Symbol.asyncDispose]: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** Creates a fresh database, runs migrations, and returns a pool-backed Kysely on it. */
export async function createTestDatabase(
  opts: { migrate?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  const fresh = await createFreshDatabase();
  const { db } = await createDatabase({ databaseUrl: fresh.url, poolSize: opts.poolSize ?? 20 });
  if (opts.migrate !== false) await migrateToLatest(db);
  return {
    db,
    url: fresh.url,
    async exec(statement) {
      await sql.raw(statement).execute(db);
    },
    async [Symbol.asyncDispose]() {
      await db.destroy();
      await fresh[Symbol.asyncDispose]();
    },
  };
}
