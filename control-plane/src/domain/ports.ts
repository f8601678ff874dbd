/**
 * The interfaces the domain needs from the outside world. They live here, beside the code that
 * uses them, so the domain never imports kysely or ioredis; store/ and the gateway implement
 * them (PgStore, Memory/Redis session-change buses, the gateway's notifier and cutter).
 */
import type {
  Agent,
  AgentCommand,
  AgentState,
  CommandKind,
  CommandStatus,
  Platform,
  Resources,
  Session,
  SessionState,
  Template,
  TemplateInput,
} from "./types.ts";

/** Exact position in the (create_time, id) order; createTime is the database's own text. */
export interface SessionCursor {
  createTime: string;
  id: string;
}

export interface SessionListQuery {
  limit: number;
  /** Newest first; return rows strictly older than this position. */
  before?: SessionCursor;
  states?: SessionState[];
  ownerId?: string;
  agentId?: string;
  templateId?: string;
}

export interface NewSession {
  id: string;
  ownerId: string;
  templateId: string;
  agentId: string | null;
  state: SessionState;
  stateReason: string;
  displayName: string;
  resources: Resources;
  holdsCapacity: boolean;
}

/** The fields a transition may change; version and update_time are the store's business. */
export interface SessionPatch {
  state: SessionState;
  stateReason: string;
  vncEndpoint?: string;
  holdsCapacity?: boolean;
  deleteRequested?: boolean;
}

export interface SessionRepo {
  get(id: string, opts?: { forUpdate?: boolean }): Promise<Session | undefined>;
  /** Applies the patch only if the row still has expectedVersion; undefined when it moved on. */
  update(id: string, expectedVersion: number, patch: SessionPatch): Promise<Session | undefined>;
  delete(id: string): Promise<boolean>;
  /**
   * Reserves a slot on `s.agentId` and, only if that succeeded, inserts the session, its first
   * event and its StartSession outbox row: one statement, so all of it or none of it happens,
   * and the agent's row lock is held for microseconds rather than a whole transaction.
   * Undefined when the agent was full or no longer online.
   */
  insertScheduled(s: NewSession, actor: string, command: NewCommand): Promise<Session | undefined>;
  list(q: SessionListQuery): Promise<{ items: Session[]; last?: SessionCursor }>;
  addEvent(e: {
    sessionId: string;
    fromState: SessionState | null;
    toState: SessionState;
    reason: string;
    version: number;
    actor: string;
  }): Promise<void>;
}

/**
 * Thrown by a repository when a write would give a second row the same unique name, so the
 * domain can word the error without knowing how the database reports it.
 */
export class NameTakenError extends Error {}

export interface TemplateRepo {
  /** By id (UUID) or by unique name. */
  find(idOrName: string): Promise<Template | undefined>;
  list(limit: number, afterName?: string): Promise<Template[]>;
  /** Throws NameTakenError when another template has the name. */
  insert(id: string, t: TemplateInput): Promise<Template>;
  /** Undefined when there is no such template; throws NameTakenError like insert. */
  update(id: string, t: TemplateInput): Promise<Template | undefined>;
  delete(id: string): Promise<boolean>;
}

/** Scheduling constraints; empty strings and maps mean "any". */
export interface Placement {
  platform: Platform;
  region: string;
  labels: Record<string, string>;
}

/**
 * The agents table as the domain sees it (scheduling, admin actions). The gateway's view
 * (enrolment, liveness: gateway/agent-registry.ts) is implemented by the same store, so one
 * module writes the table.
 */
/**
 * Matching agents by state; `online` counts only those whose platform works, `troubled` the
 * online ones whose heartbeats report a platform problem, with one such `problem` as a sample.
 */
export type MatchCounts = Partial<Record<AgentState, number>> & {
  troubled?: number;
  problem?: string;
};

export interface AgentRepo {
  get(id: string): Promise<Agent | undefined>;
  list(limit: number, afterId?: string, states?: AgentState[]): Promise<Agent[]>;
  /** Online agents that match and have a free slot, lowest active/max ratio first. */
  candidates(p: Placement, limit: number): Promise<Agent[]>;
  /**
   * Agents that match the placement, counted by state: the scheduler's refusal tells "none
   * could ever run it" from "they are away" from "they are full".
   */
  countMatching(p: Placement): Promise<MatchCounts>;
  release(id: string): Promise<void>;
  setState(id: string, state: AgentState): Promise<Agent | undefined>;
  setCredentialHash(
    id: string,
    hash: string | null,
    state?: AgentState,
  ): Promise<Agent | undefined>;
}

export interface NewCommand {
  id: string;
  agentId: string;
  sessionId: string | null;
  kind: CommandKind;
  payload: Uint8Array;
  deadline: Date;
}

/**
 * The outbox as the domain writes it; delivery (claims, acks) is the gateway's port
 * (gateway/outbox-claims.ts), implemented by the same store.
 */
export interface CommandRepo {
  insert(c: NewCommand): Promise<void>;
  get(id: string): Promise<AgentCommand | undefined>;
  setStatus(
    id: string,
    status: CommandStatus,
    error?: string | null,
  ): Promise<AgentCommand | undefined>;
}

/** One state-changing call as the audit log keeps it (see domain/audit-service.ts). */
export interface AuditEntry {
  actorId: string;
  action: string;
  targetKind: string;
  targetId: string;
  detail?: Record<string, string>;
  /** Peer address (plus the X-Forwarded-For chain behind a proxy). */
  source?: string;
  /** connect | grpc | grpc-web | trpc. */
  transport?: string;
  /** "ok" or the snake-case code the caller received. */
  outcome?: string;
  message?: string;
  requestId?: string;
}

/** A stored entry: ids grow with time, so they order and page the log. */
export interface AuditEvent extends Required<AuditEntry> {
  id: bigint;
  time: Date;
}

/** Filters and position of one page of the audit log, newest first. */
export interface AuditQuery {
  limit: number;
  /** Only entries older than this id (the previous page's last). */
  beforeId?: bigint;
  actorId?: string;
  action?: string;
  targetId?: string;
}

/** The audit log: append-only. */
export interface AuditRepo {
  append(e: AuditEntry): Promise<void>;
  list(q: AuditQuery): Promise<AuditEvent[]>;
}

/** Every repository, bound to one connection or one transaction. */
export interface Repos {
  sessions: SessionRepo;
  templates: TemplateRepo;
  agents: AgentRepo;
  commands: CommandRepo;
  audit: AuditRepo;
}

/** Repositories plus a way to run several of them in one all-or-nothing transaction. */
export interface Store extends Repos {
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
}

/** One change to one session, as WatchSessions streams it. */
export interface SessionChange {
  session: Session;
  deleted: boolean;
}

/**
 * Fans session changes out to watchers on every pod. Published after commit only, so a watcher
 * never sees a change that was rolled back.
 */
export interface SessionChangeBus {
  publish(change: SessionChange): void;
  /** Returns the unsubscribe function. */
  subscribe(listener: (change: SessionChange) => void): () => void;
  close(): Promise<void>;
}

/** Told after commit that an agent has new outbox rows; the gateway delivers them. */
export interface OutboxNotifier {
  commandsEnqueued(agentId: string): void;
}

/** Cuts a revoked agent's stream at once (the gateway implements it). */
export interface RevokedAgentCutter {
  cut(agentId: string): void;
}
