/**
 * A fresh, migrated Postgres database per test file, on the server the test runner started
 * (TEST_POSTGRES_URL). Dropped on dispose, so test files never see each other's rows.
 */
import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import pg from "pg";
import { createDatabase, migrateToLatest } from "./database.ts";
import type { Database } from "./schema.ts";

/** A database that drops itself on `await using`. */
export interface TestDatabase {
  db: Kysely<Database>;
  url: string;
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

/** Creates t_<random>, runs migrations, and returns a pool-backed Kysely on it. */
export async function createTestDatabase(
  opts: { migrate?: boolean; poolSize?: number } = {},
): Promise<TestDatabase> {
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  const name = `t_${randomBytes(6).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl());
  u.pathname = `/${name}`;
  const url = u.toString();
  const { db } = await createDatabase({ databaseUrl: url, poolSize: opts.poolSize ?? 20 });
  if (opts.migrate !== false) await migrateToLatest(db);
  return {
    db,
    url,
    async [Symbol.asyncDispose]() {
      await db.destroy();
      const c = new pg.Client({ connectionString: serverUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
