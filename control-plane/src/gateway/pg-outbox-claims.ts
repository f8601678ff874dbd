/**
 * OutboxClaims over agent_commands. The claim is one statement: a FOR UPDATE SKIP LOCKED
 * subselect picks the rows and the UPDATE marks them sent, so two pods (or a poke racing a
 * sweep) never send the same row in the same attempt; a row locked by another claimer is
 * skipped, not waited for. Postgres orders the claimed rows (created_at has microseconds, a
 * JS Date only milliseconds, so sorting in JS would swap commands issued in the same ms).
 */
import { type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.ts";
import type {
  ClaimedAgentCommand,
  ClaimedCommand,
  ClaimMode,
  CommandAckRecord,
  ExpiredCommand,
  OutboxClaims,
} from "./outbox-claims.ts";

// Ids are uuid columns: one malformed id in an array parameter would fail the whole batch.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
    const r = await sql<{ id: string; payload: Buffer }>`
      WITH claimed AS (
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
      RETURNING c.id, c.payload, c.created_at)
      SELECT id, payload FROM claimed ORDER BY created_at, id`.execute(this.db);
    return r.rows.map((row) => ({ id: row.id, payload: new Uint8Array(row.payload) }));
  }

  async claimDue(
    agentIds: string[],
    now: Date,
    ackDeadline: Date,
    limit: number,
  ): Promise<ClaimedAgentCommand[]> {
    if (agentIds.length === 0) return [];
    const r = await sql<{ id: string; agent_id: string; payload: Buffer }>`
      WITH claimed AS (
      UPDATE agent_commands AS c
         SET status = 'sent',
             attempts = c.attempts + 1,
             ack_deadline = ${ackDeadline.toISOString()}::timestamptz,
             updated_at = now()
       WHERE c.id IN (
         SELECT id FROM agent_commands
          WHERE agent_id = ANY(${agentIds}::text[])
            AND (status = 'pending' OR (status = 'sent' AND ack_deadline < ${now.toISOString()}::timestamptz))
            AND deadline > ${now.toISOString()}::timestamptz
          ORDER BY created_at, id
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED)
      RETURNING c.id, c.agent_id, c.payload, c.created_at)
      SELECT id, agent_id, payload FROM claimed ORDER BY created_at, id`.execute(this.db);
    return r.rows.map((row) => ({
      id: row.id,
      agentId: row.agent_id,
      payload: new Uint8Array(row.payload),
    }));
  }

  async acknowledge(acks: CommandAckRecord[]): Promise<number> {
    const valid = acks.filter((a) => UUID.test(a.commandId));
    if (valid.length === 0) return 0;
    const r = await sql`
      UPDATE agent_commands AS c
         SET status = 'acked', updated_at = now()
        FROM unnest(${valid.map((a) => a.commandId)}::uuid[], ${valid.map((a) => a.agentId)}::text[])
             AS a(id, agent_id)
       WHERE c.id = a.id AND c.agent_id = a.agent_id AND c.status IN ('pending', 'sent')`.execute(
      this.db,
    );
    return Number(r.numAffectedRows ?? 0);
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
