/**
 * What the tRPC edge needs from the rest of the control plane: the very domain services the
 * Connect handlers call (picked down to the methods used), so no rule is written twice. The
 * composition root passes the instances it already built; tests pass the same services over
 * a real database.
 */
import type { ApiKeys } from "../auth/api-keys.ts";
import type { AuthUser, TokenPair } from "../auth/auth-core.ts";
import type { UserAdmin } from "../auth/user-admin.ts";
import type { AgentService } from "../domain/agent-service.ts";
import type { AuditService } from "../domain/audit-service.ts";
import type { Principal } from "../domain/principal.ts";
import type { SessionActivity } from "../domain/session-activity.ts";
import type { SessionService } from "../domain/session-service.ts";
import type { TemplateService } from "../domain/template-service.ts";
import type { Agent } from "../domain/types.ts";
import type { RateLimiter } from "../edge/rate-limiter.ts";

/** Identity and credentials: auth/auth-core.ts's AuthCore satisfies this as it is. */
export interface AuthPort {
  /** Resolves an `authorization` header value (Bearer JWT or API key) to a Principal. */
  authenticate(header: string | undefined): Promise<Principal>;
  login(input: {
    username: string;
    password: string;
  }): Promise<{ tokens: TokenPair; user: AuthUser }>;
  refresh(input: { refreshToken: string }): Promise<TokenPair>;
  /** `bearer` is the caller's own header, so its access token is revoked too. */
  logout(principal: Principal, input: { refreshToken: string }, bearer?: string): Promise<void>;
  whoAmI(principal: Principal): Promise<AuthUser>;
  /** The very API-key rules the Connect AuthService uses (a key cannot mint keys, say). */
  apiKeys: Pick<ApiKeys, "create" | "list" | "revoke">;
}

/** User administration as UserService has it (roles and the last-admin rule inside). */
export type UsersPort = Pick<
  UserAdmin,
  "createUser" | "listUsers" | "disableUser" | "enableUser" | "setUserRole" | "resetPassword"
>;

export type SessionsPort = Pick<
  SessionService,
  | "list"
  | "get"
  | "create"
  | "stop"
  | "hibernate"
  | "wake"
  | "delete"
  | "createViewerToken"
  | "watch"
>;

export type TemplatesPort = Pick<TemplateService, "list" | "create" | "update" | "delete">;

export type AgentsPort = Pick<AgentService, "list" | "approve" | "revoke" | "drain"> & {
  /**
   * Optional push feed of agent changes. Without it the agents subscription polls `list`,
   * which is cheap for an admin page and needs nothing from the hub.
   */
  watch?(principal: Principal, signal: AbortSignal): AsyncIterable<Agent>;
};

export type AuditPort = Pick<AuditService, "record" | "list">;

/** Everything the tRPC edge needs; app.ts builds it from the domain services. */
export interface TrpcDeps {
  auth: AuthPort;
  users: UsersPort;
  sessions: SessionsPort;
  templates: TemplatesPort;
  agents: AgentsPort;
  /** The audit log: every mutation is recorded; admins list it. Absent in narrow tests. */
  audit?: AuditPort;
  /** Requests per second per user and API key (shared with the Connect road); none = no limit. */
  limiter?: Pick<RateLimiter, "take">;
  /** Structured logger for unexpected errors (their cause is logged, never sent). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Poll interval for the agents subscription when `agents.watch` is absent. */
  agentPollMs?: number;
  /** Live QoE per session and the fleet view (domain/session-activity.ts). */
  qoe?: QoePort;
}

export type QoePort = Pick<SessionActivity, "forSession" | "fleet">;
