/**
 * An agent can be connected while its platform is not usable (the Docker engine does not
 * answer, the Kubernetes API refuses it). Its heartbeats carry that sentence; keeping it on the
 * agent's row lets the scheduler pass over the agent and the console show why.
 */
import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE agents ADD COLUMN platform_problem text NOT NULL DEFAULT ''`.execute(db);
}
