/**
 * The agent store as the gateway needs it. The gateway owns the stream, not the agents table:
 * this port is implemented over the core's agent store (store/) in production and by
 * MemoryAgentRegistry in unit tests and before a database exists.
 */
import type { Platform } from "@streamspace/proto/streamspace/v1/types_pb";

/** Enrolment decides whether a stream may carry commands. */
export type AgentEnrolment = "pending" | "approved" | "revoked";

/** Who an agent is, as far as authentication is concerned. */
export interface AgentIdentity {
  id: string;
  enrolment: AgentEnrolment;
  /** SHA-256 of the current credential; null before approval and after revocation. */
  credentialHash: string | null;
}

/** What an agent can hold; mirrors streamspace.v1.Capacity in plain numbers. */
export interface AgentCapacity {
  maxSessions: number;
  activeSessions: number;
  maxCpuMillis: bigint;
  maxMemoryBytes: bigint;
}

/** The descriptive part of Hello that the store keeps for scheduling and the UI. */
export interface AgentHelloInfo {
  platform: Platform;
  region: string;
  version: string;
  capacity: AgentCapacity;
  labels: Record<string, string>;
}

/** One heartbeat's worth of liveness, written in batches (10k agents make 1k beats/s). */
export interface HeartbeatRecord {
  agentId: string;
  capacity: AgentCapacity | undefined;
  at: Date;
}

/** Port over the agents table; every method is idempotent so retries are safe. */
export interface AgentRegistry {
  get(agentId: string): Promise<AgentIdentity | undefined>;
  /** Creates a pending agent, or returns the existing one unchanged. */
  enrolPending(agentId: string, info: AgentHelloInfo): Promise<AgentIdentity>;
  /** Approves the agent and replaces its credential hash (enrolment and rotation). */
  approve(agentId: string, credentialHash: string): Promise<void>;
  markOnline(agentId: string, pod: string, info: AgentHelloInfo, at: Date): Promise<void>;
  recordHeartbeats(batch: HeartbeatRecord[]): Promise<void>;
  /** Marks the agent offline only if `pod` still holds it (a newer stream elsewhere wins). */
  markOffline(agentId: string, pod: string, at: Date): Promise<void>;
  /**
   * Marks offline every online agent silent since `before`, whichever pod held it: the sweep
   * that catches agents whose pod died (SIGKILL) and who never came back. Returns their ids.
   */
  expireSilent(before: Date): Promise<string[]>;
}

interface MemoryAgentRow extends AgentIdentity {
  online: boolean;
  pod?: string;
  info?: AgentHelloInfo;
  lastHeartbeat?: Date;
}

/** In-memory registry: a narrow fake for unit tests and the database-less skeleton. */
export class MemoryAgentRegistry implements AgentRegistry {
  readonly rows = new Map<string, MemoryAgentRow>();

  async get(agentId: string): Promise<AgentIdentity | undefined> {
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
    if (!r) throw new Error(`approve: no agent ${agentId}`);
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
      r.lastHeartbeat = b.at;
      if (b.capacity && r.info) r.info = { ...r.info, capacity: b.capacity };
    }
  }

  async expireSilent(before: Date): Promise<string[]> {
    const out: string[] = [];
    for (const r of this.rows.values()) {
      if (r.online && r.lastHeartbeat && r.lastHeartbeat < before) {
        r.online = false;
        out.push(r.id);
      }
    }
    return out;
  }

  async markOffline(agentId: string, pod: string, _at: Date): Promise<void> {
    const r = this.rows.get(agentId);
    if (r && r.pod === pod) r.online = false;
  }
}
