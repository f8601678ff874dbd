/**
 * The outbox's hot lookups (claim, redeliver, "which agents have work") only ever want rows not
 * yet acked. Finished rows pile up by the million; a partial index over the unfinished ones
 * stays as small as the backlog, so claims cost the same on day one and day one hundred.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX agent_commands_unfinished_idx ON agent_commands (agent_id, created_at, id)
            WHERE status IN ('pending', 'sent')`.execute(db);
}
