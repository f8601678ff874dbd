/**
 * Auth tables: users, API keys, refresh tokens. Ids are uuid (gen_random_uuid is built into
 * Postgres 13+ and PGlite), so other tables can reference users.id with a foreign key.
 * Changing the schema means a new migration file, never an edit of this one once released.
 */
import { type Kysely, sql } from "kysely";

/** Creates the auth tables; idempotent guards are not needed because the Migrator runs it once. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("users")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("username", "text", (c) => c.notNull().unique())
    .addColumn("display_name", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("role", "text", (c) => c.notNull().check(sql`role in ('user', 'operator', 'admin')`))
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("disabled", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("user_id", "uuid", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("prefix", "text", (c) => c.notNull())
    .addColumn("secret_hash", "text", (c) => c.notNull().unique())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz")
    .addColumn("last_used_at", "timestamptz")
    .addColumn("revoked_at", "timestamptz")
    .execute();
  await db.schema.createIndex("api_keys_user_id_idx").on("api_keys").column("user_id").execute();

  await db.schema
    .createTable("refresh_tokens")
    .addColumn("id", "uuid", (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn("user_id", "uuid", (c) => c.notNull().references("users.id").onDelete("cascade"))
    .addColumn("family_id", "uuid", (c) => c.notNull())
    .addColumn("hash", "text", (c) => c.notNull().unique())
    .addColumn("access_jti", "text", (c) => c.notNull())
    .addColumn("access_expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (c) => c.notNull())
    .addColumn("revoked_at", "timestamptz")
    .addColumn("replaced_by", "uuid")
    .execute();
  await db.schema
    .createIndex("refresh_tokens_family_idx")
    .on("refresh_tokens")
    .column("family_id")
    .execute();
}

/** Drops the auth tables (dependants first). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("refresh_tokens").ifExists().execute();
  await db.schema.dropTable("api_keys").ifExists().execute();
  await db.schema.dropTable("users").ifExists().execute();
}
