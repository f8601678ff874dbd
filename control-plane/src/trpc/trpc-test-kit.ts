/**
 * A disposable tRPC edge over the real domain services and a fresh Postgres database: an HTTP
 * server with the adapter mounted exactly as the control plane mounts it, plus typed clients
 * that speak HTTP batches and the WebSocket link. Tests drive it as the browser does.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink } from "@trpc/client";
import { WebSocket } from "ws";
import { createPod, seedUser } from "../auth/auth-test-kit.ts";
import { generateSigningKeyPem, signingKeysFromPem } from "../auth/signing-keys.ts";
import { createViewerTokenSigner } from "../auth/viewer-tokens.ts";
import type { AuthServiceDeps } from "../connect/auth-service.ts";
import { type AgentService, createAgentService } from "../domain/agent-service.ts";
import { createAuditService } from "../domain/audit-service.ts";
import type { Store } from "../domain/ports.ts";
import { createSessionService, type SessionService } from "../domain/session-service.ts";
import { createTemplateService, type TemplateService } from "../domain/template-service.ts";
import { createDatabase, migrateToLatest } from "../store/database.ts";
import { MemorySessionChangeBus } from "../store/memory-session-change-bus.ts";
import { PgAgentStore } from "../store/pg-agent-store.ts";
import { createPgAuthStore } from "../store/pg-auth-store.ts";
import { createPgStore } from "../store/pg-store.ts";
import { seedDefaultTemplates } from "../store/seed.ts";
import { createFreshDatabase } from "../store/test-database.ts";
import { registerAgent } from "../store/test-kit.ts";
import { createTrpcHandlers, type TrpcHandlers } from "./adapter.ts";
import type { TrpcDeps } from "./deps.ts";
import type { AppRouter } from "./router.ts";

export const PASSWORD = "correct horse battery";

/** A typed client; its WebSocket is closed when the fixture is disposed. */
export type TestClient = ReturnType<typeof createTRPCClient<AppRouter>>;

export interface TrpcFixture extends AsyncDisposable {
  url: string;
  store: Store;
  bus: MemorySessionChangeBus;
  handlers: TrpcHandlers;
  deps: TrpcDeps;
  /** The domain services behind the procedures, to put other transports over the same data. */
  services: { sessions: SessionService; templates: TemplateService; agents: AgentService };
  /** Sign-in and user administration behind the procedures, likewise. */
  authServices: AuthServiceDeps;
  users: { alice: string; bob: string; admin: string; operator: string };
  /** A client that sends `authorization` (Bearer <token>) on both links, or none. */
  client(token?: string): TestClient;
  /** Logs in and returns a client with the resulting access token. */
  login(
    username: string,
  ): Promise<{ client: TestClient; accessToken: string; refreshToken: string }>;
  /** Registers an online local agent with free slots, so sessions can be scheduled. */
  addAgent(id?: string): Promise<void>;
}

/** Starts the fixture; `await using` it so the server, sockets and database go away. */
export async function startTrpcFixture(opts: { agentPollMs?: number } = {}): Promise<TrpcFixture> {
  const fresh = await createFreshDatabase("trpc");
  const { db } = await createDatabase({ databaseUrl: fresh.url, poolSize: 5 });
  await migrateToLatest(db);
  await seedDefaultTemplates(db);
  const store = createPgStore(db);
  const bus = new MemorySessionChangeBus();
  const authStore = createPgAuthStore(db);
  const { auth, users: userAdmin } = createPod(authStore);
  const keys = await signingKeysFromPem(generateSigningKeyPem());
  const services = {
    sessions: createSessionService({ store, bus, viewerTokens: createViewerTokenSigner(keys) }),
    templates: createTemplateService({ store }),
    agents: createAgentService({ store }),
  };
  const deps: TrpcDeps = {
    auth,
    users: userAdmin,
    ...services,
    audit: createAuditService({ store }),
    agentPollMs: opts.agentPollMs ?? 100,
  };
  const users = {
    alice: await seedUser(authStore, "alice", "user", PASSWORD),
    bob: await seedUser(authStore, "bob", "user", PASSWORD),
    admin: await seedUser(authStore, "root", "admin", PASSWORD),
    operator: await seedUser(authStore, "olga", "operator", PASSWORD),
  };
  const handlers = createTrpcHandlers(deps);
  const server: Server = createServer((req, res) => {
    if (!handlers.handleHttp(req, res)) {
      res.statusCode = 404;
      res.end();
    }
  });
  server.on("upgrade", (req, socket, head) => {
    if (!handlers.handleUpgrade(req, socket, head)) socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients = new Set<{ close(): Promise<void> }>();

  const client = (token?: string): TestClient => {
    const authorization = token ? `Bearer ${token}` : undefined;
    const ws = createWSClient({
      url: `${url.replace("http", "ws")}/trpc`,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      connectionParams: () => (authorization ? { authorization } : {}),
      lazy: { enabled: true, closeMs: 0 },
      retryDelayMs: () => 200,
    });
    clients.add(ws);
    return createTRPCClient<AppRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === "subscription",
          true: wsLink({ client: ws }),
          false: httpBatchLink({
            url: `${url}/trpc`,
            headers: () => (authorization ? { authorization } : {}),
          }),
        }),
      ],
    });
  };

  return {
    url,
    store,
    bus,
    handlers,
    deps,
    services,
    authServices: { auth, users: userAdmin },
    users,
    client,
    async login(username) {
      const r = await client().auth.login.mutate({ username, password: PASSWORD });
      return {
        client: client(r.tokens.accessToken),
        accessToken: r.tokens.accessToken,
        refreshToken: r.tokens.refreshToken,
      };
    },
    async addAgent(id = "agent-1") {
      await registerAgent(new PgAgentStore(db), { id, maxSessions: 10 });
    },
    async [Symbol.asyncDispose]() {
      for (const c of clients) await c.close().catch(() => {});
      await handlers.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await db.destroy();
      await fresh[Symbol.asyncDispose]();
    },
  };
}
