/**
 * The command outbox (DESIGN.md §3.2). Rows are written in the transaction of the state change
 * that needs them and walk pending → sent → acked → completed|failed. A sent row whose ack
 * deadline passed is due again, which makes delivery at-least-once; agents dedupe by id.
 */
import { type Kysely, type Selectable, sql } from "kysely";
import type { CommandRepo, NewCommand } from "../domain/ports.ts";
import type { AgentCommand, CommandKind, CommandStatus } from "../domain/types.ts";
import type { AgentCommandsTable, Database } from "./schema.ts";

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

/** The CommandRepo over any Kysely handle. */
export function createCommandStore(db: Kysely<Database>): CommandRepo {
  return {
    async insert(c: NewCommand) {
      await db
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
    },
    async get(id) {
      const row = await db
        .selectFrom("agent_commands")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row && fromRow(row);
    },
    async due(agentId, now, limit) {
      const rows = await db
        .selectFrom("agent_commands")
        .selectAll()
        .where("agent_id", "=", agentId)
        .where((eb) =>
          eb.or([
            eb("status", "=", "pending"),
            eb.and([eb("status", "=", "sent"), eb("ack_deadline", "<", now)]),
          ]),
        )
        .orderBy("created_at")
        .orderBy("id")
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },
    async markSent(ids, ackDeadline) {
      if (ids.length === 0) return;
      await db
        .updateTable("agent_commands")
        .set((eb) => ({
          status: "sent",
          attempts: eb("attempts", "+", 1),
          ack_deadline: ackDeadline,
          updated_at: sql`now()`,
        }))
        .where("id", "in", ids)
        .where("status", "in", ["pending", "sent"])
        .execute();
    },
    async setStatus(id, status, error) {
      const row = await db
        .updateTable("agent_commands")
        .set({ status, error: error ?? null, updated_at: sql`now()` })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      return row && fromRow(row);
    },
    async countByStatus(agentId) {
      let q = db
        .selectFrom("agent_commands")
        .select(["status", (eb) => eb.fn.countAll<string>().as("n")])
        .groupBy("status");
      if (agentId) q = q.where("agent_id", "=", agentId);
      const out: Record<CommandStatus, number> = {
        pending: 0,
        sent: 0,
        acked: 0,
        completed: 0,
        failed: 0,
      };
      for (const r of await q.execute()) out[r.status as CommandStatus] = Number(r.n);
      return out;
    },
  };
}
