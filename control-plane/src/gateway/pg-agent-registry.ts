/**
 * AgentRegistry over the core's agents table (Postgres or PGlite). Uses Kysely directly for
 * the three statements the generic AgentRepo does not offer: batched heartbeats, offline only
 * if this pod still holds the agent, and the cross-pod silence sweep.
 */
import { type Kysely, sql } from "kysely";
import { platformFromProto } from "../domain/proto-mapping.ts";
import type { Database } from "../store/schema.ts";
import type {
  AgentEnrolment,
  AgentHelloInfo,
  AgentIdentity,
  AgentRegistry,
  HeartbeatRecord,
} from "./agent-registry.ts";

const enrolmentOf = (state: string): AgentEnrolment =>
  state === "pending" ? "pending" : state === "revoked" ? "revoked" : "approved";

/** Postgres-backed registry; every statement is idempotent. */
export class PgAgentRegistry implements AgentRegistry {
  constructor(private readonly db: Kysely<Database>) {}

  async get(agentId: string): Promise<AgentIdentity | undefined> {
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
      .values({ ...this.columns(info), id: agentId, state: "pending" })
      .onConflict((oc) => oc.column("id").doNothing())
      .execute();
    const got = await this.get(agentId);
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
        ...this.columns(info),
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
    const rows = batch.map((b) => sql`(${b.agentId}::text, ${b.at.toISOString()}::timestamptz)`);
    await sql`UPDATE agents AS a SET last_heartbeat_at = v.at
      FROM (VALUES ${sql.join(rows)}) AS v(id, at)
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

  private columns(info: AgentHelloInfo) {
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
}
