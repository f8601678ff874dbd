/**
 * The agents table as the gateway needs it. The gateway owns the stream, not the table: this
 * port is implemented by store/pg-agent-store.ts (the table's one writer) in production and by
 * store/memory-agent-registry.ts in gateway unit tests; both pass one behaviour suite
 * (store/agent-registry-cases.ts).
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
  /** Why the agent's platform cannot run sessions now (empty when it can). */
  platformProblem: string;
  at: Date;
  /** The pod holding the stream that beat. */
  pod: string;
}

/** Port over the agents table; every method is idempotent so retries are safe. */
export interface AgentRegistry {
  identity(agentId: string): Promise<AgentIdentity | undefined>;
  /** Creates a pending agent, or returns the existing one unchanged. */
  enrolPending(agentId: string, info: AgentHelloInfo): Promise<AgentIdentity>;
  /** Approves the agent and replaces its credential hash (enrolment and rotation). */
  approve(agentId: string, credentialHash: string): Promise<void>;
  markOnline(agentId: string, pod: string, info: AgentHelloInfo, at: Date): Promise<void>;
  /**
   * Records liveness. A beat proves the stream is alive, so an agent the silence sweep marked
   * offline meanwhile (its beats could not be written: Postgres was away longer than the
   * heartbeat timeout) is online again, held by the pod that recorded the beat. Pending,
   * draining and revoked agents keep their state.
   */
  recordHeartbeats(batch: HeartbeatRecord[]): Promise<void>;
  /** Marks the agent offline only if `pod` still holds it (a newer stream elsewhere wins). */
  markOffline(agentId: string, pod: string, at: Date): Promise<void>;
  /**
   * Marks offline every online agent silent since `before`, whichever pod held it: the sweep
   * that catches agents whose pod died (SIGKILL) and who never came back. Returns their ids.
   */
  expireSilent(before: Date): Promise<string[]>;
}
