/**
 * Opens the one database the control plane trusts (DESIGN.md §3.1). Real Postgres when it is
 * configured; otherwise embedded PGlite in the data folder, so `npm start` works with nothing
 * installed. Both speak the same SQL, so the same migrations and queries run on each.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import { createDeadlinePool, DEFAULT_QUERY_TIMEOUT_MS } from "./deadline-pool.ts";
import { migrations } from "./migrations/index.ts";
import type { Database } from "./schema.ts";

/** Where to find the database; leave both url and DB_* unset to get PGlite in dataDir. */
export interface DatabaseOptions {
  databaseUrl?: string;
  /** DB_HOST / DB_PORT / DB_NAME / DB_USER / DB_PASSWORD, used when databaseUrl is unset. */
  env?: Record<string, string | undefined>;
  /** Folder for PGlite's files (`${dataDir}/pglite`); unset means an in-memory PGlite. */
  dataDir?: string;
  /** pg pool size; the default suits one API pod on a small machine. */
  poolSize?: number;
  /**
   * Statement deadline of every query on Postgres (deadline-pool.ts); 0 means none, for
   * migrations. Defaults to DEFAULT_QUERY_TIMEOUT_MS. PGlite runs in-process: no deadline.
   */
  queryTimeoutMs?: number;
}

/** Which backend was opened, so /health and logs can say so. */
export type DatabaseKind = "postgres" | "pglite";

/** Builds a connection URL from DB_* parts, or undefined when DB_HOST is not set. */
export function urlFromParts(env: Record<string, string | undefined>): string | undefined {
  if (!env.DB_HOST) return undefined;
  const user = encodeURIComponent(env.DB_USER ?? "postgres");
  const password = env.DB_PASSWORD ? `:${encodeURIComponent(env.DB_PASSWORD)}` : "";
  const port = env.DB_PORT ?? "5432";
  const name = encodeURIComponent(env.DB_NAME ?? "streamspace");
  return `postgres://${user}${password}@${env.DB_HOST}:${port}/${name}`;
}

/**
 * Opens Postgres (pg Pool) or PGlite. int8 stays a string on pg (exactness over convenience);
 * the stores convert it where the proto wants bigint.
 */
export async function createDatabase(
  opts: DatabaseOptions = {},
): Promise<{ db: Kysely<Database>; kind: DatabaseKind }> {
  const url = opts.databaseUrl || urlFromParts(opts.env ?? {});
  if (url) {
    const pool = createDeadlinePool({
      connectionString: url,
      max: opts.poolSize ?? 20,
      queryTimeoutMs: opts.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS,
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: "postgres" };
  }
  let client: PGlite;
  if (opts.dataDir) {
    const dir = join(opts.dataDir, "pglite");
    mkdirSync(dir, { recursive: true });
    client = new PGlite(dir);
  } else {
    client = new PGlite();
  }
  await client.waitReady;
  return { db: new Kysely<Database>({ dialect: new PGliteDialect(client) }), kind: "pglite" };
}

/** Runs every pending migration; throws with the failing migration's name and cause. */
export async function migrateToLatest<T>(db: Kysely<T>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`migration ${failed} failed`, { cause: error });
  }
}

/**
 * True for a Postgres unique violation (SQLSTATE 23505; pg and PGlite both expose it as
 * `code`). Repositories turn it into the port's own answer, so no caller parses SQL errors.
 */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "23505";
}

/** One cheap read for /health: the database answers and the schema is there. */
export async function pingDatabase(db: Kysely<Database>): Promise<void> {
  await db.selectFrom("templates").select("id").limit(1).execute();
}
