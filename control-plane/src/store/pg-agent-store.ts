/**
 * The agents table on Postgres/PGlite, and the only module that writes it: the domain's
 * AgentRepo (scheduling reads, admin actions, slot release) and the gateway's AgentRegistry
 * (enrolment, liveness) are two views of one class, so every rule about an agent's state lives
 * in one file. The one subtle write, the slot reservation, is `reserveSlotSql`: a conditional
 * increment that Postgres re-checks after waiting on the row lock, so concurrent creates never
 * push an agent past max_sessions no matter how many pods schedule at once.
 */
import { type Kysely, type RawBuilder, type Selectable, sql } from "kysely";
import type { AgentRepo, MatchCounts, Placement } from "../domain/ports.ts";
import { platformFromProto } from "../domain/proto-mapping.ts";
import { AGENT_STATES, type Agent, type AgentState, type Platform } from "../domain/types.ts";
import type {
  AgentEnrolment,
  AgentHelloInfo,
  AgentIdentity,
  AgentRegistry,
  HeartbeatRecord,
} from "../gateway/agent-registry.ts";
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
    platformProblem: r.platform_problem,
    createdAt: r.created_at,
  };
}

const enrolmentOf = (state: string): AgentEnrolment =>
  state === "pending" ? "pending" : state === "revoked" ? "revoked" : "approved";

/**
 * `UPDATE agents … RETURNING id` taking one slot on an online agent with room, for embedding
 * as the first step of a data-modifying CTE (store/pg-session-store.ts insertScheduled): no
 * row comes back when the agent filled up or left 'online' meanwhile.
 */
export function reserveSlotSql(agentId: string): RawBuilder<{ id: string }> {
  return sql<{ id: string }>`
    UPDATE agents SET active_sessions = active_sessions + 1
    WHERE id = ${agentId} AND state = 'online' AND platform_problem = ''
      AND active_sessions < max_sessions
    RETURNING id`;
}

/** AgentRepo and AgentRegistry over any Kysely handle (the pool or one transaction). */
export class PgAgentStore implements AgentRepo, AgentRegistry {
  constructor(private readonly db: Kysely<Database>) {}

  private matching(p: Placement, states: AgentState[] = ["online"]) {
    let q = this.db.selectFrom("agents").where("state", "in", states);
    if (p.platform) q = q.where("platform", "=", p.platform);
    if (p.region) q = q.where("region", "=", p.region);
    if (Object.keys(p.labels).length > 0) {
      q = q.where(sql<boolean>`labels @> ${JSON.stringify(p.labels)}::jsonb`);
    }
    return q;
  }

  // --- AgentRepo (domain) ---

  async get(id: string): Promise<Agent | undefined> {
    const row = await this.db
      .selectFrom("agents")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return row && fromRow(row);
  }

  async list(limit: number, afterId?: string, states?: AgentState[]): Promise<Agent[]> {
    let q = this.db.selectFrom("agents").selectAll();
    if (afterId !== undefined) q = q.where("id", ">", afterId);
    if (states?.length) q = q.where("state", "in", states);
    const rows = await q.orderBy("id").limit(limit).execute();
    return rows.map(fromRow);
  }

  async candidates(p: Placement, limit: number): Promise<Agent[]> {
    const rows = await this.matching(p)
      .selectAll()
      .where(sql<boolean>`active_sessions < max_sessions`)
      .where("platform_problem", "=", "")
      .orderBy(sql`active_sessions::float8 / max_sessions`)
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map(fromRow);
  }

  async countMatching(p: Placement): Promise<MatchCounts> {
    const troubled = sql<boolean>`state = 'online' AND platform_problem <> ''`;
    const rows = await this.matching(p, [...AGENT_STATES])
      .select([
        "state",
        troubled.as("troubled"),
        (eb) => eb.fn.countAll<string>().as("n"),
        (eb) => eb.fn.min("platform_problem").as("problem"),
      ])
      .groupBy(["state", troubled])
      .execute();
    const counts: MatchCounts = {};
    for (const r of rows) {
      if (r.troubled) {
        counts.troubled = Number(r.n);
        counts.problem = r.problem;
      } else counts[r.state as AgentState] = Number(r.n);
    }
    return counts;
  }

  async release(id: string): Promise<void> {
    await this.db
      .updateTable("agents")
      .set({ active_sessions: sql`GREATEST(active_sessions - 1, 0)` })
      .where("id", "=", id)
      .execute();
  }

  async setState(id: string, state: AgentState): Promise<Agent | undefined> {
    const row = await this.db
      .updateTable("agents")
      .set({ state })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row && fromRow(row);
  }

  async setCredentialHash(
    id: string,
    hash: string | null,
    state?: AgentState,
  ): Promise<Agent | undefined> {
    const row = await this.db
      .updateTable("agents")
      .set({ credential_hash: hash, ...(state ? { state } : {}) })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row && fromRow(row);
  }

  // --- AgentRegistry (gateway); every statement is idempotent ---

  async identity(agentId: string): Promise<AgentIdentity | undefined> {
    const r = await this.db
      .selectFrom("agents")
      .select(["id", "state", "credential_hash"])
      .where("id", "=", agentId)
      .executeTakeFirst();
    return r && { id: r.id, enrolment: enrolmentOf(r.state), credentialHash: r.credential_hash };
  }

  async enrolPending(agentId: string, info: AgentHelloInfo): Promise<AgentIdentity> {
    await this.db
      .insertInto("agents")
      .values({ ...helloColumns(info), id: agentId, state: "pending" })
      .onConflict((oc) => oc.column("id").doNothing())
      .execute();
    const got = await this.identity(agentId);
    if (!got) throw new Error(`enrol agent ${agentId}: row vanished`);
    return got;
  }

  async approve(agentId: string, credentialHash: string): Promise<void> {
    await this.db
      .updateTable("agents")
      .set({
        credential_hash: credentialHash,
        state: sql`CASE WHEN state = 'pending' THEN 'online' ELSE state END`,
      })
      .where("id", "=", agentId)
      .execute();
  }

  async markOnline(agentId: string, pod: string, info: AgentHelloInfo, at: Date): Promise<void> {
    await this.db
      .updateTable("agents")
      .set({
        ...helloColumns(info),
        pod,
        last_heartbeat_at: at,
        // Offline agents come back online; pending, draining and revoked stay as they are.
        state: sql`CASE WHEN state = 'offline' THEN 'online' ELSE state END`,
      })
      .where("id", "=", agentId)
      .execute();
  }

  async recordHeartbeats(batch: HeartbeatRecord[]): Promise<void> {
    if (batch.length === 0) return;
    const rows = batch.map(
      (b) =>
        sql`(${b.agentId}::text, ${b.at.toISOString()}::timestamptz, ${b.pod}::text, ${b.platformProblem}::text)`,
    );
    // Only offline rows come back (offline always has no pod: markOffline and expireSilent
    // clear it); pending, draining and revoked rows keep their state and pod.
    await sql`UPDATE agents AS a SET last_heartbeat_at = v.at, platform_problem = v.problem,
        pod = CASE WHEN a.state = 'offline' THEN v.pod ELSE a.pod END,
        state = CASE WHEN a.state = 'offline' THEN 'online' ELSE a.state END
      FROM (VALUES ${sql.join(rows)}) AS v(id, at, pod, problem)
      WHERE a.id = v.id AND (a.last_heartbeat_at IS NULL OR a.last_heartbeat_at < v.at)`.execute(
      this.db,
    );
  }

  async markOffline(agentId: string, pod: string, _at: Date): Promise<void> {
    await this.db
      .updateTable("agents")
      .set({ pod: null, state: sql`CASE WHEN state = 'online' THEN 'offline' ELSE state END` })
      .where("id", "=", agentId)
      .where("pod", "=", pod)
      .execute();
  }

  async expireSilent(before: Date): Promise<string[]> {
    const rows = await this.db
      .updateTable("agents")
      .set({ pod: null, state: "offline" })
      .where("state", "=", "online")
      .where("last_heartbeat_at", "<", before)
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  }
}

/** The columns a Hello sets (capacity is what the agent declares, not the reserved count). */
function helloColumns(info: AgentHelloInfo) {
  const platform = platformFromProto(info.platform);
  if (!platform) throw new Error(`unsupported platform ${info.platform}`);
  return {
    platform,
    region: info.region,
    version: info.version,
    labels: JSON.stringify(info.labels),
    max_sessions: info.capacity.maxSessions,
    max_cpu_millis: info.capacity.maxCpuMillis.toString(),
    max_memory_bytes: info.capacity.maxMemoryBytes.toString(),
  };
}
