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

/** Opens, migrates and seeds; a failure closes what it opened, so a failed start leaks nothing. */
export async function openStorage(
  config: Pick<ControlPlaneConfig, "databaseUrl" | "dataDir">,
): Promise<Storage> {
  const { db, kind } = await createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
  });
  try {
    await migrateToLatest(db);
    await seedDefaultTemplates(db);
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
