/**
 * OutboxClaims over agent_commands. The claim is one statement: a FOR UPDATE SKIP LOCKED
 * subselect picks the rows and the UPDATE marks them sent, so two pods (or a poke racing a
 * sweep) never send the same row in the same attempt; a row locked by another claimer is
 * skipped, not waited for.
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.ts";
import type { ClaimedCommand, ClaimMode, ExpiredCommand, OutboxClaims } from "./outbox-claims.ts";

/** Postgres/PGlite implementation of the delivery side of the outbox. */
export class PgOutboxClaims implements OutboxClaims {
  constructor(private readonly db: Kysely<Database>) {}

  async claim(
    agentId: string,
    mode: ClaimMode,
    now: Date,
    ackDeadline: Date,
    limit: number,
  ): Promise<ClaimedCommand[]> {
    const due =
      mode.kind === "reconnect"
        ? sql`(status = 'pending' OR (status IN ('sent', 'acked')
              AND (ack_deadline IS NULL OR ack_deadline < ${mode.resendBefore.toISOString()}::timestamptz)))`
        : sql`(status = 'pending' OR (status = 'sent' AND ack_deadline < ${now.toISOString()}::timestamptz))`;
    const r = await sql<{ id: string; payload: Buffer; created_at: Date }>`
      UPDATE agent_commands AS c
         SET status = CASE WHEN c.status = 'acked' THEN 'acked' ELSE 'sent' END,
             attempts = c.attempts + 1,
             ack_deadline = ${ackDeadline.toISOString()}::timestamptz,
             updated_at = now()
       WHERE c.id IN (
         SELECT id FROM agent_commands
          WHERE agent_id = ${agentId} AND ${due}
            AND deadline > ${now.toISOString()}::timestamptz
          ORDER BY created_at, id
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
      RETURNING c.id, c.payload, c.created_at`.execute(this.db);
    return r.rows
      .sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id.localeCompare(b.id))
      .map((row) => ({ id: row.id, payload: new Uint8Array(row.payload) }));
  }

  async agentsWithDue(agentIds: string[], now: Date): Promise<string[]> {
    if (agentIds.length === 0) return [];
    const rows = await this.db
      .selectFrom("agent_commands")
      .select("agent_id")
      .distinct()
      .where("agent_id", "in", agentIds)
      .where((eb) =>
        eb.or([
          eb("status", "=", "pending"),
          eb.and([eb("status", "=", "sent"), eb("ack_deadline", "<", now)]),
        ]),
      )
      .where("deadline", ">", now)
      .execute();
    return rows.map((r) => r.agent_id);
  }

  async expired(now: Date, limit: number): Promise<ExpiredCommand[]> {
    const rows = await this.db
      .selectFrom("agent_commands")
      .select(["id", "agent_id"])
      .where("status", "in", ["pending", "sent", "acked"])
      .where("deadline", "<", now)
      .orderBy("deadline")
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, agentId: r.agent_id }));
  }
}
