/**
 * The ports the tRPC edge needs from the rest of the control plane. The router owns no business
 * rule: every procedure calls one of these, and app.ts fills them with the same domain services
 * the Connect handlers call. Keeping the list narrow lets router tests run against the real
 * services and lets the browser edge be wired before or after any one service changes shape.
 */

import type { TokenPair } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import type {
  Agent,
  AgentState,
  Session,
  SessionState,
  Template,
  User,
} from "@streamspace/proto/streamspace/v1/types_pb";
import type { Principal } from "../domain/principal.ts";

/** Identity and credentials: the auth helper's AuthCore satisfies this as it is. */
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
}

/** Session operations; ownership and role checks happen inside, once, for both transports. */
export interface SessionsPort {
  list(
    principal: Principal,
    input: { pageSize?: number; pageToken?: string; states?: SessionState[]; ownerId?: string },
  ): Promise<Page<Session>>;
  get(principal: Principal, input: { id: string }): Promise<Session>;
  create(principal: Principal, input: { template: string; displayName?: string }): Promise<Session>;
  stop(principal: Principal, input: { id: string }): Promise<Session>;
  hibernate(principal: Principal, input: { id: string }): Promise<Session>;
  wake(principal: Principal, input: { id: string }): Promise<Session>;
  delete(principal: Principal, input: { id: string }): Promise<void>;
  createViewerToken(
    principal: Principal,
    input: { sessionId: string },
  ): Promise<{ token: string; expireTime: Date; viewerPath: string }>;
  /**
   * Every change to sessions the principal may see (one session when `sessionId` is set),
   * across all pods, until `signal` aborts. The domain filters by visibility.
   */
  watch(
    principal: Principal,
    input: { sessionId?: string },
    signal: AbortSignal,
  ): AsyncIterable<SessionChange>;
}

/** Templates: everyone reads. */
export interface TemplatesPort {
  list(
    principal: Principal,
    input: { pageSize?: number; pageToken?: string },
  ): Promise<Page<Template>>;
}

/** Agents: operators read, admins act. The domain enforces both. */
export interface AgentsPort {
  list(
    principal: Principal,
    input: { pageSize?: number; pageToken?: string; states?: AgentState[] },
  ): Promise<Page<Agent>>;
  approve(
    principal: Principal,
    input: { id: string },
  ): Promise<{ agent: Agent; credential: string }>;
  revoke(principal: Principal, input: { id: string }): Promise<Agent>;
  drain(principal: Principal, input: { id: string }): Promise<Agent>;
  /**
   * Optional push feed of agent changes. Without it the agents subscription polls `list`,
   * which is cheap for an admin page and needs nothing from the hub.
   */
  watch?(principal: Principal, signal: AbortSignal): AsyncIterable<Agent>;
}

/** Everything the tRPC edge needs; app.ts builds it from the domain services. */
export interface TrpcDeps {
  auth: AuthPort;
  sessions: SessionsPort;
  templates: TemplatesPort;
  agents: AgentsPort;
  /** Structured logger for unexpected errors (their cause is logged, never sent). */
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Poll interval for the agents subscription when `agents.watch` is absent. */
  agentPollMs?: number;
}
