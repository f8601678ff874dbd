/**
 * The storage part of a pod: the one database (Postgres, or PGlite in the data folder),
 * migrated and seeded before anything else may read it (DESIGN.md §3.1: Postgres is the truth).
 */
import type { Kysely } from "kysely";
import type { ControlPlaneConfig } from "../config.ts";
import type { SessionState } from "../domain/types.ts";
import {
  createDatabase,
  type DatabaseKind,
  migrateToLatest,
  pingDatabase,
} from "../store/database.ts";
import { countSessionsByState } from "../store/pg-session-store.ts";
import type { Database } from "../store/schema.ts";
import { seedDefaultTemplates } from "../store/seed.ts";
import type { CheckResult } from "./checks.ts";

/** The open database and what /health and /ready say about it. */
export interface Storage {
  db: Kysely<Database>;
  kind: DatabaseKind;
  /** One cheap read: the database answers and the schema is there. */
  check(): Promise<CheckResult>;
  /** Sessions per state, for the given states (states with none are absent). */
  countSessions(states: readonly SessionState[]): Promise<Map<SessionState, number>>;
  close(): Promise<void>;
}

/**
 * Opens, migrates and seeds; a failure closes what it opened, so a failed start leaks nothing.
 * On Postgres, migrations and the seed run over their own single connection without the
 * serving pool's query deadline (a long migration must not be cut short); the serving pool is
 * opened once they are done. PGlite is one in-process database, migrated where it serves.
 */
export async function openStorage(
  config: Pick<ControlPlaneConfig, "databaseUrl" | "dataDir" | "databaseQueryTimeoutMs">,
): Promise<Storage> {
  const where = { databaseUrl: config.databaseUrl, dataDir: config.dataDir };
  const { db, kind } = await createDatabase({
    ...where,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
  });
  try {
    if (kind === "postgres") {
      const admin = await createDatabase({ ...where, poolSize: 1, queryTimeoutMs: 0 });
      try {
        await migrateToLatest(admin.db);
        await seedDefaultTemplates(admin.db);
      } finally {
        await admin.db.destroy();
      }
    } else {
      await migrateToLatest(db);
      await seedDefaultTemplates(db);
    }
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
  return {
    db,
    kind,
    async check() {
      await pingDatabase(db);
      return { ok: true, detail: kind };
    },
    countSessions: (states) => countSessionsByState(db, states),
    close: () => db.destroy(),
  };
}
