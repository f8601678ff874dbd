/**
 * Sessions and their events on Postgres/PGlite. Every update is guarded by the version column,
 * so two pods racing on one session cannot both win; paging uses the database's own text form
 * of create_time in the cursor, so microsecond timestamps never skip or repeat a row.
 */
import { type Kysely, type Selectable, sql } from "kysely";
import type { SessionCursor, SessionListQuery, SessionRepo } from "../domain/ports.ts";
import type { Session, SessionState } from "../domain/types.ts";
import { reserveSlotSql } from "./pg-agent-store.ts";
import { insertCommandSql } from "./pg-command-store.ts";
import type { Database, SessionsTable } from "./schema.ts";

type SessionRow = Selectable<SessionsTable>;

function sessionFromRow(r: SessionRow): Session {
  return {
    id: r.id,
    ownerId: r.owner_id,
    templateId: r.template_id ?? "",
    agentId: r.agent_id ?? "",
    state: r.state as SessionState,
    stateReason: r.state_reason,
    version: r.version,
    displayName: r.display_name,
    resources: { cpuMillis: BigInt(r.cpu_millis), memoryBytes: BigInt(r.memory_bytes) },
    vncEndpoint: r.vnc_endpoint,
    holdsCapacity: r.holds_capacity,
    deleteRequested: r.delete_requested,
    createTime: r.create_time,
    updateTime: r.update_time,
  };
}

const cursorText = sql<string>`create_time::text`.as("cursor_time");

/** The SessionRepo over any Kysely handle (the pool or one transaction). */
export function createPgSessionStore(db: Kysely<Database>): SessionRepo {
  return {
    async get(id, opts) {
      let q = db.selectFrom("sessions").selectAll().where("id", "=", id);
      if (opts?.forUpdate) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      return row && sessionFromRow(row);
    },

    async update(id, expectedVersion, patch) {
      const row = await db
        .updateTable("sessions")
        .set((eb) => ({
          state: patch.state,
          state_reason: patch.stateReason,
          version: eb("version", "+", 1),
          update_time: sql`now()`,
          ...(patch.vncEndpoint !== undefined ? { vnc_endpoint: patch.vncEndpoint } : {}),
          ...(patch.holdsCapacity !== undefined ? { holds_capacity: patch.holdsCapacity } : {}),
          ...(patch.deleteRequested !== undefined
            ? { delete_requested: patch.deleteRequested }
            : {}),
        }))
        .where("id", "=", id)
        .where("version", "=", expectedVersion)
        .returningAll()
        .executeTakeFirst();
      return row && sessionFromRow(row);
    },

    async delete(id) {
      const r = await db.deleteFrom("sessions").where("id", "=", id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },

    async insertScheduled(s, actor, cmd) {
      // No agent, no slot to reserve: nothing is written, as for a full agent.
      if (s.agentId === null) return undefined;
      const r = await sql<SessionRow>`
        WITH r AS (${reserveSlotSql(s.agentId)}),
        s AS (
          INSERT INTO sessions (id, owner_id, template_id, agent_id, state, state_reason,
                                display_name, cpu_millis, memory_bytes, holds_capacity)
          SELECT ${s.id}::uuid, ${s.ownerId}, ${s.templateId}::uuid, r.id, ${s.state},
                 ${s.stateReason}, ${s.displayName}, ${s.resources.cpuMillis.toString()}::bigint,
                 ${s.resources.memoryBytes.toString()}::bigint, true
          FROM r
          RETURNING *),
        e AS (
          INSERT INTO session_events (session_id, from_state, to_state, reason, version, actor)
          SELECT s.id, NULL, s.state, s.state_reason, s.version, ${actor} FROM s),
        c AS (${insertCommandSql(cmd, sql<boolean>`EXISTS (SELECT 1 FROM s)`)})
        SELECT * FROM s`.execute(db);
      const row = r.rows[0];
      return row && sessionFromRow(row);
    },

    async list(q: SessionListQuery) {
      let query = db.selectFrom("sessions").selectAll().select(cursorText);
      if (q.ownerId) query = query.where("owner_id", "=", q.ownerId);
      if (q.agentId) query = query.where("agent_id", "=", q.agentId);
      if (q.templateId) query = query.where("template_id", "=", q.templateId);
      if (q.states?.length) query = query.where("state", "in", q.states);
      if (q.before) {
        const { createTime, id } = q.before;
        query = query.where(
          sql<boolean>`(create_time, id) < (${createTime}::timestamptz, ${id}::uuid)`,
        );
      }
      const rows = await query
        .orderBy("create_time", "desc")
        .orderBy("id", "desc")
        .limit(q.limit)
        .execute();
      const lastRow = rows.at(-1);
      const last: SessionCursor | undefined = lastRow
        ? { createTime: lastRow.cursor_time, id: lastRow.id }
        : undefined;
      return { items: rows.map(sessionFromRow), last };
    },

    async addEvent(e) {
      await db
        .insertInto("session_events")
        .values({
          session_id: e.sessionId,
          from_state: e.fromState,
          to_state: e.toState,
          reason: e.reason,
          version: e.version,
          actor: e.actor,
        })
        .execute();
    },
  };
}

/** Sessions per state among `states` (states with none are absent); served by sessions_state_page_idx. */
export async function countSessionsByState(
  db: Kysely<Database>,
  states: readonly SessionState[],
): Promise<Map<SessionState, number>> {
  const rows = await db
    .selectFrom("sessions")
    .select((eb) => ["state", eb.fn.countAll<string>().as("n")])
    .where("state", "in", [...states])
    .groupBy("state")
    .execute();
  return new Map(rows.map((r) => [r.state as SessionState, Number(r.n)]));
}
