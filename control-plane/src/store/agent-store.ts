/**
 * Agents on Postgres/PGlite. The one subtle query is reserve(): a conditional increment that
 * Postgres re-checks after waiting on the row lock, so concurrent creates never push an agent
 * past max_sessions no matter how many pods schedule at once.
 */
import { type Kysely, type Selectable, sql } from "kysely";
import type { AgentRepo, Placement } from "../domain/ports.ts";
import type { Agent, AgentState, Platform } from "../domain/types.ts";
import type { AgentsTable, Database } from "./schema.ts";

function fromRow(r: Selectable<AgentsTable>): Agent {
  return {
    id: r.id,
    platform: r.platform as Exclude<Platform, "">,
    region: r.region,
    version: r.version,
    labels: r.labels,
    state: r.state as AgentState,
    maxSessions: r.max_sessions,
    activeSessions: r.active_sessions,
    maxCpuMillis: BigInt(r.max_cpu_millis),
    maxMemoryBytes: BigInt(r.max_memory_bytes),
    pod: r.pod ?? "",
    lastHeartbeatAt: r.last_heartbeat_at,
    createdAt: r.created_at,
  };
}

/** The AgentRepo over any Kysely handle. */
export function createAgentStore(db: Kysely<Database>): AgentRepo {
  const matching = (p: Placement) => {
    let q = db.selectFrom("agents").where("state", "=", "online");
    if (p.platform) q = q.where("platform", "=", p.platform);
    if (p.region) q = q.where("region", "=", p.region);
    if (Object.keys(p.labels).length > 0) {
      q = q.where(sql<boolean>`labels @> ${JSON.stringify(p.labels)}::jsonb`);
    }
    return q;
  };

  return {
    async get(id) {
      const row = await db.selectFrom("agents").selectAll().where("id", "=", id).executeTakeFirst();
      return row && fromRow(row);
    },
    async list(limit, afterId, states) {
      let q = db.selectFrom("agents").selectAll();
      if (afterId !== undefined) q = q.where("id", ">", afterId);
      if (states?.length) q = q.where("state", "in", states);
      const rows = await q.orderBy("id").limit(limit).execute();
      return rows.map(fromRow);
    },
    async candidates(p, limit) {
      const rows = await matching(p)
        .selectAll()
        .where(sql<boolean>`active_sessions < max_sessions`)
        .orderBy(sql`active_sessions::float8 / max_sessions`)
        .orderBy("id")
        .limit(limit)
        .execute();
      return rows.map(fromRow);
    },
    async countMatching(p) {
      const r = await matching(p)
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async reserve(id) {
      const r = await db
        .updateTable("agents")
        .set((eb) => ({ active_sessions: eb("active_sessions", "+", 1) }))
        .where("id", "=", id)
        .where("state", "=", "online")
        .where(sql<boolean>`active_sessions < max_sessions`)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async release(id) {
      await db
        .updateTable("agents")
        .set({ active_sessions: sql`GREATEST(active_sessions - 1, 0)` })
        .where("id", "=", id)
        .execute();
    },
    async setState(id, state) {
      const row = await db
        .updateTable("agents")
        .set({ state })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      return row && fromRow(row);
    },
    async setCredentialHash(id, hash, state) {
      const row = await db
        .updateTable("agents")
        .set({ credential_hash: hash, ...(state ? { state } : {}) })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      return row && fromRow(row);
    },
    async credentialHash(id) {
      const row = await db
        .selectFrom("agents")
        .select("credential_hash")
        .where("id", "=", id)
        .executeTakeFirst();
      return row ? row.credential_hash : undefined;
    },
    async upsertFromHello(a) {
      const row = await db
        .insertInto("agents")
        .values({
          id: a.id,
          platform: a.platform,
          region: a.region,
          version: a.version,
          labels: JSON.stringify(a.labels),
          state: a.initialState,
          max_sessions: a.maxSessions,
          max_cpu_millis: a.maxCpuMillis.toString(),
          max_memory_bytes: a.maxMemoryBytes.toString(),
          pod: a.pod,
          last_heartbeat_at: new Date(),
        })
        .onConflict((oc) =>
          oc.column("id").doUpdateSet((eb) => ({
            platform: eb.ref("excluded.platform"),
            region: eb.ref("excluded.region"),
            version: eb.ref("excluded.version"),
            labels: eb.ref("excluded.labels"),
            max_sessions: eb.ref("excluded.max_sessions"),
            max_cpu_millis: eb.ref("excluded.max_cpu_millis"),
            max_memory_bytes: eb.ref("excluded.max_memory_bytes"),
            pod: eb.ref("excluded.pod"),
            last_heartbeat_at: eb.ref("excluded.last_heartbeat_at"),
            // An offline agent that says hello is online again; enrolment states stick.
            state: sql`CASE WHEN agents.state = 'offline' THEN excluded.state ELSE agents.state END`,
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return fromRow(row);
    },
    async touch(id, pod, state) {
      await db
        .updateTable("agents")
        .set({ pod, last_heartbeat_at: new Date(), ...(state ? { state } : {}) })
        .where("id", "=", id)
        .execute();
    },
  };
}
