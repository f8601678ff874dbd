/**
 * Failed sign-in bookkeeping on the users row (auth/login-throttle.ts). It lives in Postgres,
 * not Redis, so every pod sees the same count with or without Redis.
 */
import type { Kysely } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("users")
    .addColumn("failed_logins", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable("users").addColumn("locked_until", "timestamptz").execute();
}
