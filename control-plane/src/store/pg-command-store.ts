/**
 * The command outbox (DESIGN.md §3.2) on Postgres/PGlite, and the only module that writes
 * agent_commands. Rows are written in the transaction of the state change that needs them
 * (CommandRepo, for the domain) and walk pending → sent → acked → completed|failed as delivery
 * claims and acknowledges them (OutboxClaims, for the gateway). A sent row whose ack deadline
 * passed is due again, which makes delivery at-least-once; agents dedupe by id.
 *
 * A claim is one statement: a FOR UPDATE SKIP LOCKED subselect picks the rows and the UPDATE
 * marks them sent, so two pods (or a poke racing a sweep) never send the same row in the same
 * attempt; a row locked by another claimer is skipped, not waited for. Postgres orders the
 * claimed rows (created_at has microseconds, a JS Date only milliseconds, so sorting in JS
 * would swap commands issued in the same ms).
 */
import { type Kysely, type RawBuilder, type Selectable, sql } from "kysely";
import type { CommandRepo, NewCommand } from "../domain/ports.ts";
import type { AgentCommand, CommandKind, CommandStatus } from "../domain/types.ts";
import type {
  ClaimedAgentCommand,
  ClaimedCommand,
  ClaimMode,
  CommandAckRecord,
  ExpiredCommand,
  OutboxClaims,
} from "../gateway/outbox-claims.ts";
import type { AgentCommandsTable, Database } from "./schema.ts";

// Ids are uuid columns: one malformed id in an array parameter would fail the whole batch.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function fromRow(r: Selectable<AgentCommandsTable>): AgentCommand {
  return {
    id: r.id,
    agentId: r.agent_id,
    sessionId: r.session_id,
    kind: r.kind as CommandKind,
    payload: new Uint8Array(r.payload),
    status: r.status as CommandStatus,
    attempts: r.attempts,
    ackDeadline: r.ack_deadline,
    deadline: r.deadline,
    error: r.error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * `INSERT INTO agent_commands …` of one pending row, only when `onlyIf` holds: a step of a
 * data-modifying CTE (store/pg-session-store.ts insertScheduled) that must write the command
 * only if the earlier steps wrote their rows.
 */
export function insertCommandSql(c: NewCommand, onlyIf: RawBuilder<boolean>): RawBuilder<never> {
  return sql<never>`
    INSERT INTO agent_commands (id, agent_id, session_id, kind, payload, status, deadline)
    SELECT ${c.id}::uuid, ${c.agentId}, ${c.sessionId}::uuid, ${c.kind}, ${c.payload}, 'pending',
           ${c.deadline}::timestamptz
    WHERE ${onlyIf}`;
}

/** CommandRepo and OutboxClaims over any Kysely handle (the pool or one transaction). */
export class PgCommandStore implements CommandRepo, OutboxClaims {
  constructor(private readonly db: Kysely<Database>) {}

  // --- CommandRepo (domain) ---

  async insert(c: NewCommand): Promise<void> {
    await this.db
      .insertInto("agent_commands")
      .values({
        id: c.id,
        agent_id: c.agentId,
        session_id: c.sessionId,
        kind: c.kind,
        payload: c.payload,
        status: "pending",
        deadline: c.deadline,
      })
      .execute();
  }

  async get(id: string): Promise<AgentCommand | undefined> {
    const row = await this.db
      .selectFrom("agent_commands")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return row && fromRow(row);
  }

  async setStatus(
    id: string,
    status: CommandStatus,
    error?: string | null,
  ): Promise<AgentCommand | undefined> {
    const row = await this.db
      .updateTable("agent_commands")
      .set({ status, error: error ?? null, updated_at: sql`now()` })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row && fromRow(row);
  }

  // --- OutboxClaims (gateway delivery) ---

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
    acks: CommandAckRecord[] = [],
  ): Promise<ClaimedAgentCommand[]> {
    if (agentIds.length === 0) {
      if (acks.length > 0) await this.acknowledge(acks);
      return [];
    }
    const valid = acks.filter((a) => UUID.test(a.commandId));
    const ackIds = valid.map((a) => a.commandId);
    // The acks ride on the claim (one statement, one round trip instead of two). Both CTEs see
    // the same snapshot, so the claim skips the rows the acks changed: one row is never
    // updated twice by one statement.
    const r = await sql<{ id: string; agent_id: string; payload: Buffer }>`
      WITH acked AS (
      UPDATE agent_commands AS c
         SET status = 'acked', updated_at = now()
        FROM unnest(${ackIds}::uuid[], ${valid.map((a) => a.agentId)}::text[]) AS a(id, agent_id)
       WHERE c.id = a.id AND c.agent_id = a.agent_id AND c.status IN ('pending', 'sent')
      RETURNING c.id),
      claimed AS (
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
            AND id NOT IN (SELECT id FROM acked)
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
