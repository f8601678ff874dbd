/**
 * AgentRegistry in memory: the narrow fake gateway unit tests run on (they inspect `rows` and
 * revoke by hand). It passes the same behaviour suite as the Postgres store
 * (agent-registry-cases.ts), so the two cannot drift apart unnoticed.
 */
import type {
  AgentHelloInfo,
  AgentIdentity,
  AgentRegistry,
  HeartbeatRecord,
} from "../gateway/agent-registry.ts";

interface MemoryAgentRow extends AgentIdentity {
  online: boolean;
  pod?: string;
  info?: AgentHelloInfo;
  lastHeartbeat?: Date;
}

/** Rows keyed by agent id; `online` stands for the table's online/offline state. */
export class MemoryAgentRegistry implements AgentRegistry {
  readonly rows = new Map<string, MemoryAgentRow>();

  async identity(agentId: string): Promise<AgentIdentity | undefined> {
    const r = this.rows.get(agentId);
    return r && { id: r.id, enrolment: r.enrolment, credentialHash: r.credentialHash };
  }

  async enrolPending(agentId: string, info: AgentHelloInfo): Promise<AgentIdentity> {
    let r = this.rows.get(agentId);
    if (!r) {
      r = { id: agentId, enrolment: "pending", credentialHash: null, online: false, info };
      this.rows.set(agentId, r);
    }
    return { id: r.id, enrolment: r.enrolment, credentialHash: r.credentialHash };
  }

  async approve(agentId: string, credentialHash: string): Promise<void> {
    const r = this.rows.get(agentId);
    if (!r) return;
    r.enrolment = "approved";
    r.credentialHash = credentialHash;
  }

  /** Test hook: what an admin's RevokeAgent does to the row. */
  revoke(agentId: string): void {
    const r = this.rows.get(agentId);
    if (r) {
      r.enrolment = "revoked";
      r.credentialHash = null;
    }
  }

  async markOnline(agentId: string, pod: string, info: AgentHelloInfo, at: Date): Promise<void> {
    const r = this.rows.get(agentId);
    if (!r) return;
    Object.assign(r, { online: true, pod, info, lastHeartbeat: at });
  }

  async recordHeartbeats(batch: HeartbeatRecord[]): Promise<void> {
    for (const b of batch) {
      const r = this.rows.get(b.agentId);
      if (!r) continue;
      // Batches may land out of order; liveness never moves back.
      if (!r.lastHeartbeat || r.lastHeartbeat < b.at) {
        r.lastHeartbeat = b.at;
        // A beat proves the stream lives: an approved agent swept offline is back on its pod.
        if (!r.online && r.enrolment === "approved") Object.assign(r, { online: true, pod: b.pod });
      }
      if (b.capacity && r.info) r.info = { ...r.info, capacity: b.capacity };
    }
  }

  async expireSilent(before: Date): Promise<string[]> {
    const out: string[] = [];
    for (const r of this.rows.values()) {
      // Only approved agents count as online; pending and revoked ones never expire.
      if (r.online && r.enrolment === "approved" && r.lastHeartbeat && r.lastHeartbeat < before) {
        r.online = false;
        r.pod = undefined;
        out.push(r.id);
      }
    }
    return out;
  }

  async markOffline(agentId: string, pod: string, _at: Date): Promise<void> {
    const r = this.rows.get(agentId);
    if (r && r.pod === pod) {
      r.online = false;
      r.pod = undefined;
    }
  }
}
