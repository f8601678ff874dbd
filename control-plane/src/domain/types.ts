/**
 * The records the domain reasons about, free of any transport or driver type: Connect and tRPC
 * map them to their wire shapes, the stores map rows to them. int64 quantities are bigint so
 * memory sizes above 2^53 stay exact end to end.
 */

/** DESIGN.md §4 lifecycle, as stored in sessions.state. */
export type SessionState =
  | "pending"
  | "scheduled"
  | "starting"
  | "running"
  | "hibernating"
  | "hibernated"
  | "waking"
  | "stopping"
  | "stopped"
  | "failed";

export const SESSION_STATES: readonly SessionState[] = [
  "pending",
  "scheduled",
  "starting",
  "running",
  "hibernating",
  "hibernated",
  "waking",
  "stopping",
  "stopped",
  "failed",
];

/** "" means "any platform" on a template; agents always name theirs. */
export type Platform = "" | "local" | "docker" | "kubernetes";

export type AgentState = "pending" | "online" | "offline" | "draining" | "revoked";

export const AGENT_STATES: readonly AgentState[] = [
  "pending",
  "online",
  "offline",
  "draining",
  "revoked",
];

export interface Resources {
  cpuMillis: bigint;
  memoryBytes: bigint;
}

export interface Template {
  id: string;
  name: string;
  displayName: string;
  description: string;
  image: string;
  command: string[];
  vncPort: number;
  resources: Resources;
  env: Record<string, string>;
  idleTimeoutSeconds: number;
  persistentHome: boolean;
  platform: Platform;
  region: string;
  requiredLabels: Record<string, string>;
  createTime: Date;
  updateTime: Date;
}

/** What a caller supplies to create or replace a template. */
export type TemplateInput = Omit<Template, "id" | "createTime" | "updateTime">;

export interface Session {
  id: string;
  ownerId: string;
  templateId: string;
  agentId: string;
  state: SessionState;
  stateReason: string;
  version: number;
  displayName: string;
  resources: Resources;
  vncEndpoint: string;
  /** True while the session's slot on its agent is reserved (released on stopped/failed). */
  holdsCapacity: boolean;
  /** Delete was asked while the session still ran; the row goes once it is stopped. */
  deleteRequested: boolean;
  createTime: Date;
  updateTime: Date;
}

export interface Agent {
  id: string;
  platform: Exclude<Platform, "">;
  region: string;
  version: string;
  labels: Record<string, string>;
  state: AgentState;
  maxSessions: number;
  activeSessions: number;
  maxCpuMillis: bigint;
  maxMemoryBytes: bigint;
  pod: string;
  lastHeartbeatAt: Date | null;
  /** Why the agent's platform cannot run sessions now, from its heartbeats; empty when it can. */
  platformProblem: string;
  createdAt: Date;
}

export type CommandStatus = "pending" | "sent" | "acked" | "completed" | "failed";

export type CommandKind =
  | "start_session"
  | "stop_session"
  | "hibernate_session"
  | "wake_session"
  | "drain";

/** One outbox row: `payload` is the binary streamspace.agent.v1.Command the agent receives. */
export interface AgentCommand {
  id: string;
  agentId: string;
  sessionId: string | null;
  kind: CommandKind;
  payload: Uint8Array;
  status: CommandStatus;
  attempts: number;
  ackDeadline: Date | null;
  deadline: Date;
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}
