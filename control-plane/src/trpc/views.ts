/**
 * JSON views of the domain records for the browser. tRPC speaks JSON, and the records carry
 * bigints and Dates that JSON.stringify mangles or drops, plus fields a browser must never see
 * (a session's VNC endpoint, a user's disabled flag). The edge converts once, here; the web app
 * types itself from these views through the router type alone.
 */
import type { ApiKeyInfo } from "../auth/api-keys.ts";
import type { AuthUser, TokenPair } from "../auth/auth-core.ts";
import type { AuditEvent } from "../domain/ports.ts";
import type { Role } from "../domain/principal.ts";
import { viewerPath } from "../domain/proto-mapping.ts";
import type {
  Agent,
  AgentState,
  Platform,
  Session,
  SessionState,
  Template,
} from "../domain/types.ts";

export type { AgentState, Platform, Role, SessionState };

/** Session as the browser sees it; times are ISO-8601 strings. */
export interface SessionView {
  id: string;
  ownerId: string;
  templateId: string;
  agentId: string;
  state: SessionState;
  stateReason: string;
  version: number;
  displayName: string;
  cpuMillis: number;
  memoryBytes: number;
  createTime: string;
  updateTime: string;
  /** Relay path for the viewer's WebSocket (`/vnc/{id}`); a token is appended per connect. */
  viewerPath: string;
}

export interface TemplateView {
  id: string;
  name: string;
  displayName: string;
  description: string;
  image: string;
  platform: Platform;
  region: string;
  cpuMillis: number;
  memoryBytes: number;
  persistentHome: boolean;
  /** The rest of the template, so the console can edit it without losing a field. */
  command: string[];
  vncPort: number;
  env: Record<string, string>;
  idleTimeoutSeconds: number;
  requiredLabels: Record<string, string>;
}

export interface AgentView {
  id: string;
  platform: Platform;
  region: string;
  version: string;
  state: AgentState;
  maxSessions: number;
  activeSessions: number;
  labels: Record<string, string>;
  pod: string;
  /** Empty when the agent never sent a heartbeat. */
  lastHeartbeatTime: string;
  /** Why the agent's platform cannot start desktops now; empty when it can. */
  platformProblem: string;
  createTime: string;
}

export interface UserView {
  id: string;
  username: string;
  displayName: string;
  role: Role;
}

/** A user as the console lists it: staff need to see who is disabled and since when. */
export interface ManagedUserView extends UserView {
  disabled: boolean;
  createTime: string;
}

/** An API key without its secret (the secret is shown once, by create). */
export interface ApiKeyView {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createTime: string;
  /** Empty when the key never expires. */
  expireTime: string;
  /** Empty when the key was never used. */
  lastUsedTime: string;
}

/** Access and refresh tokens with absolute expiry times (ISO-8601). */
export interface TokensView {
  accessToken: string;
  accessExpireTime: string;
  refreshToken: string;
  refreshExpireTime: string;
}

export function sessionView(s: Session): SessionView {
  return {
    id: s.id,
    ownerId: s.ownerId,
    templateId: s.templateId,
    agentId: s.agentId,
    state: s.state,
    stateReason: s.stateReason,
    version: s.version,
    displayName: s.displayName,
    cpuMillis: Number(s.resources.cpuMillis),
    memoryBytes: Number(s.resources.memoryBytes),
    createTime: s.createTime.toISOString(),
    updateTime: s.updateTime.toISOString(),
    viewerPath: viewerPath(s.id),
  };
}

export function templateView(t: Template): TemplateView {
  return {
    id: t.id,
    name: t.name,
    displayName: t.displayName || t.name,
    description: t.description,
    image: t.image,
    platform: t.platform,
    region: t.region,
    cpuMillis: Number(t.resources.cpuMillis),
    memoryBytes: Number(t.resources.memoryBytes),
    persistentHome: t.persistentHome,
    command: [...t.command],
    vncPort: t.vncPort,
    env: { ...t.env },
    idleTimeoutSeconds: t.idleTimeoutSeconds,
    requiredLabels: { ...t.requiredLabels },
  };
}

export function agentView(a: Agent): AgentView {
  return {
    id: a.id,
    platform: a.platform,
    region: a.region,
    version: a.version,
    state: a.state,
    maxSessions: a.maxSessions,
    activeSessions: a.activeSessions,
    labels: { ...a.labels },
    pod: a.pod,
    lastHeartbeatTime: a.lastHeartbeatAt?.toISOString() ?? "",
    platformProblem: a.platformProblem,
    createTime: a.createdAt.toISOString(),
  };
}

export function userView(u: AuthUser): UserView {
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName || u.username,
    role: u.role,
  };
}

export function managedUserView(u: AuthUser): ManagedUserView {
  return { ...userView(u), disabled: u.disabled, createTime: u.createdAt.toISOString() };
}

export function apiKeyView(k: ApiKeyInfo): ApiKeyView {
  return {
    id: k.id,
    userId: k.userId,
    name: k.name,
    prefix: k.prefix,
    createTime: k.createdAt.toISOString(),
    expireTime: k.expiresAt?.toISOString() ?? "",
    lastUsedTime: k.lastUsedAt?.toISOString() ?? "",
  };
}

export function tokensView(t: TokenPair): TokensView {
  return {
    accessToken: t.accessToken,
    accessExpireTime: t.accessExpiresAt.toISOString(),
    refreshToken: t.refreshToken,
    refreshExpireTime: t.refreshExpiresAt.toISOString(),
  };
}

/** One audit entry for the admin page; the id is a decimal string (it is an int8). */
export interface AuditEventView {
  id: string;
  time: string;
  actorId: string;
  action: string;
  targetKind: string;
  targetId: string;
  source: string;
  transport: string;
  outcome: string;
  message: string;
  requestId: string;
  detail: Record<string, string>;
}

export function auditEventView(e: AuditEvent): AuditEventView {
  return { ...e, id: e.id.toString(), time: e.time.toISOString() };
}
