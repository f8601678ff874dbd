/**
 * Running sessions whose template hibernates them when idle (session-activity.ts). The state
 * index narrows to running rows; `update_time` of a running row is when it last changed state
 * (start or wake), the earliest its idle clock may start. Bounded per tick.
 */
import type { Kysely } from "kysely";
import type { IdleCandidate } from "../domain/session-activity.ts";
import type { Database } from "./schema.ts";

const MAX_CANDIDATES = 20_000;

/** Reads the candidates for one idle sweep. */
export async function listIdleCandidates(db: Kysely<Database>): Promise<IdleCandidate[]> {
  const rows = await db
    .selectFrom("sessions as s")
    .innerJoin("templates as t", "t.id", "s.template_id")
    .select(["s.id", "s.update_time", "t.idle_timeout_seconds"])
    .where("s.state", "=", "running")
    .where("t.idle_timeout_seconds", ">", 0)
    .limit(MAX_CANDIDATES)
    .execute();
  return rows.map((r) => ({
    sessionId: r.id,
    idleTimeoutSeconds: r.idle_timeout_seconds,
    runningSinceMs: new Date(r.update_time).getTime(),
  }));
}
