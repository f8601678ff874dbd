/**
 * The StreamSpace client, independent of where it runs: node.ts and web.ts give it a transport
 * factory (HTTP/2 and HTTP/1.1 in Node, fetch in a browser) and re-export it. It bundles the
 * five public services' generated clients behind one credential, plus the helpers every caller
 * would otherwise write: sign-in, refresh, paging and a watch that survives reconnects.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { Credentials, type TokenSet } from "./credentials.ts";
import { AgentService, type ListAgentsRequest } from "./gen/streamspace/v1/agent_service_pb.ts";
import { AuditService } from "./gen/streamspace/v1/audit_service_pb.ts";
import { AuthService, type TokenPair } from "./gen/streamspace/v1/auth_service_pb.ts";
import {
  type ListSessionsRequest,
  SessionService,
} from "./gen/streamspace/v1/session_service_pb.ts";
import { TemplateService } from "./gen/streamspace/v1/template_service_pb.ts";
import type { Agent, Session, Template, User } from "./gen/streamspace/v1/types_pb.ts";
import { UserService } from "./gen/streamspace/v1/user_service_pb.ts";
import {
  authInterceptor,
  errorInterceptor,
  type RetryOptions,
  retryInterceptor,
} from "./interceptors.ts";
import { type Page, paginate } from "./paginate.ts";
import { type SessionEvent, type WatchSessionsOptions, watchSessions } from "./watch-sessions.ts";

/** The three protocols the control plane serves on its one port. */
export type Protocol = "grpc" | "grpc-web" | "connect";

export interface ClientOptions {
  /** The control plane, e.g. "http://127.0.0.1:8080" (the same URL as the web UI). */
  baseUrl: string;
  /** Default "grpc" in Node, "connect" in a browser (which cannot speak plain gRPC). */
  protocol?: Protocol;
  /** Sign in with an API key (`ssk_…`) instead of a password. */
  apiKey?: string;
  /** Resume a sign-in saved from `onTokens`. */
  tokens?: TokenSet;
  /** Called with every new token pair (after sign-in and each refresh), and undefined on sign-out. */
  onTokens?: (tokens: TokenSet | undefined) => void;
  /** Refresh the access token when it expires within this many milliseconds (default 60 s). */
  refreshBeforeMs?: number;
  /** Retries of idempotent reads after Unavailable (default 3 attempts). */
  retry?: RetryOptions;
  /** Extra interceptors, run inside the SDK's (they see the authorization header). */
  interceptors?: Interceptor[];
  /** Milliseconds since the epoch; tests inject it to reach a token's expiry quickly. */
  now?: () => number;
}

/** Builds the transport for one protocol; the platform entry points supply it. */
export type TransportFactory = (opts: {
  baseUrl: string;
  protocol: Protocol;
  interceptors: Interceptor[];
}) => Transport;

/** Filters of ListSessions, without the paging fields the helper handles. */
export type SessionFilter = Partial<
  Pick<ListSessionsRequest, "states" | "ownerId" | "agentId" | "templateId">
>;

/** How a list helper walks the pages. */
export interface ListOptions {
  /** Stop after this many items. */
  limit?: number;
  /** Items per request, 1..500 (default 500: fewer round trips). */
  pageSize?: number;
  signal?: AbortSignal;
}

/** The client: generated service clients plus sign-in, paging and watch helpers. */
export interface StreamSpaceClient {
  readonly sessions: Client<typeof SessionService>;
  readonly templates: Client<typeof TemplateService>;
  readonly agents: Client<typeof AgentService>;
  readonly auth: Client<typeof AuthService>;
  readonly users: Client<typeof UserService>;
  /** Admins only: the audit trail of state-changing calls. */
  readonly audit: Client<typeof AuditService>;
  readonly protocol: Protocol;
  /** Password sign-in; later calls carry the access token and refresh it before it expires. */
  signIn(username: string, password: string): Promise<User>;
  /** Switches to an API key (no refresh needed; revoke it with auth.revokeApiKey). */
  useApiKey(key: string): void;
  /** Revokes the refresh token and the access token on the server, then forgets them. */
  signOut(): Promise<void>;
  /** The current token pair (undefined with an API key or before sign-in). */
  tokens(): TokenSet | undefined;
  /** Every session matching the filter, across pages. */
  listSessions(filter?: SessionFilter, opts?: ListOptions): AsyncGenerator<Session>;
  listTemplates(opts?: ListOptions): AsyncGenerator<Template>;
  listAgents(
    filter?: Partial<Pick<ListAgentsRequest, "states">>,
    opts?: ListOptions,
  ): AsyncGenerator<Agent>;
  listUsers(opts?: ListOptions): AsyncGenerator<User>;
  /** Session changes as an async iterator that reconnects by itself (see watch-sessions.ts). */
  watchSessions(opts?: WatchSessionsOptions): AsyncGenerator<SessionEvent>;
}

/** The largest page the server accepts; the helpers ask for it to make fewer round trips. */
const MAX_PAGE = 500;

function tokenSet(p: TokenPair | undefined): TokenSet {
  const at = (t: Timestamp | undefined) => (t ? timestampDate(t) : new Date(0));
  if (!p?.accessToken) throw new Error("The server answered without tokens.");
  return {
    accessToken: p.accessToken,
    accessExpiresAt: at(p.accessExpireTime),
    refreshToken: p.refreshToken,
    refreshExpiresAt: at(p.refreshExpireTime),
  };
}

/** Assembles a client over the transport the factory builds. */
export function createClientWith(
  makeTransport: TransportFactory,
  defaultProtocol: Protocol,
  opts: ClientOptions,
): StreamSpaceClient {
  const protocol = opts.protocol ?? defaultProtocol;
  // Refresh goes through the same transport but carries no credential (it is anonymous).
  let auth: Client<typeof AuthService> | undefined;
  const creds = new Credentials({
    refresh: async (refreshToken) => tokenSet((await auth!.refresh({ refreshToken })).tokens),
    refreshBeforeMs: opts.refreshBeforeMs,
    onTokens: opts.onTokens,
    now: opts.now,
  });
  if (opts.apiKey) creds.useApiKey(opts.apiKey);
  else if (opts.tokens) creds.useTokens(opts.tokens);

  const transport = makeTransport({
    baseUrl: opts.baseUrl,
    protocol,
    interceptors: [
      errorInterceptor(),
      authInterceptor(creds),
      retryInterceptor(opts.retry),
      ...(opts.interceptors ?? []),
    ],
  });
  auth = createClient(AuthService, transport);
  const sessions = createClient(SessionService, transport);
  const templates = createClient(TemplateService, transport);
  const agents = createClient(AgentService, transport);
  const users = createClient(UserService, transport);
  const audit = createClient(AuditService, transport);

  /** One helper per List call: the request's page fields are the helper's business. */
  function pages<T>(
    o: ListOptions,
    call: (page: { pageSize: number; pageToken: string }, signal?: AbortSignal) => Promise<Page<T>>,
  ): AsyncGenerator<T> {
    const pageSize = o.pageSize ?? MAX_PAGE;
    return paginate((pageToken) => call({ pageSize, pageToken }, o.signal), o);
  }
  const listSessions = (filter: SessionFilter = {}, o: ListOptions = {}) =>
    pages(o, async (page, signal) => {
      const r = await sessions.listSessions({ ...filter, ...page }, { signal });
      return { items: r.sessions, nextPageToken: r.nextPageToken };
    });

  return {
    sessions,
    templates,
    agents,
    auth,
    users,
    audit,
    protocol,
    async signIn(username, password) {
      const r = await auth!.login({ username, password });
      creds.useTokens(tokenSet(r.tokens));
      if (!r.user) throw new Error("The server answered Login without a user.");
      return r.user;
    },
    useApiKey: (key) => creds.useApiKey(key),
    async signOut() {
      const t = creds.tokens;
      try {
        if (t) await auth!.logout({ refreshToken: t.refreshToken });
      } finally {
        creds.clear();
      }
    },
    tokens: () => creds.tokens,
    listSessions,
    listTemplates: (o = {}) =>
      pages(o, async (page, signal) => {
        const r = await templates.listTemplates(page, { signal });
        return { items: r.templates, nextPageToken: r.nextPageToken };
      }),
    listAgents: (filter = {}, o = {}) =>
      pages(o, async (page, signal) => {
        const r = await agents.listAgents({ ...filter, ...page }, { signal });
        return { items: r.agents, nextPageToken: r.nextPageToken };
      }),
    listUsers: (o = {}) =>
      pages(o, async (page, signal) => {
        const r = await users.listUsers(page, { signal });
        return { items: r.users, nextPageToken: r.nextPageToken };
      }),
    watchSessions: (o) =>
      watchSessions(
        {
          open: (req, signal) => sessions.watchSessions(req, { signal }),
          listVisible: (signal) => listSessions({}, { signal }),
          reauthenticate: () => creds.refreshNow(),
        },
        o,
      ),
  };
}
