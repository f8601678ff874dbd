/**
 * The audit log records every state-changing call, not only the changes that succeeded: from
 * where it came (peer address, transport), how it ended (outcome code and the message the
 * caller read) and the request id that finds it in the logs. Additive: the new columns have
 * defaults, so pods still running the previous release keep inserting.
 *
 * Admins page newest first, by actor or by target: id order is time order (identity column),
 * so the page key is the id alone.
 */
import { type Kysely, sql } from "kysely";

const UP = [
  "ALTER TABLE audit_log ADD COLUMN source text NOT NULL DEFAULT ''",
  "ALTER TABLE audit_log ADD COLUMN transport text NOT NULL DEFAULT ''",
  "ALTER TABLE audit_log ADD COLUMN outcome text NOT NULL DEFAULT 'ok'",
  "ALTER TABLE audit_log ADD COLUMN message text NOT NULL DEFAULT ''",
  "ALTER TABLE audit_log ADD COLUMN request_id text NOT NULL DEFAULT ''",
  "CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id)",
  "CREATE INDEX audit_log_target_idx ON audit_log (target_id, id)",
];

const DOWN = [
  "DROP INDEX audit_log_target_idx",
  "DROP INDEX audit_log_actor_idx",
  ...["request_id", "message", "outcome", "transport", "source"].map(
    (c) => `ALTER TABLE audit_log DROP COLUMN ${c}`,
  ),
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const s of UP) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const s of DOWN) await sql.raw(s).execute(db);
}
