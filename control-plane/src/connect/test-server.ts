/**
 * A real HTTP/2 (h2c) server carrying the core Connect services, for tests and the bench.
 * Callers pick a principal with the `x-test-principal` header (alice, bob, operator, admin);
 * production resolves it from `authorization` in connect/auth-interceptor.ts instead, and
 * never loads this file.
 */
import { createServer, type Http2Server, type ServerHttp2Session } from "node:http2";
import type { Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Principal } from "../domain/principal.ts";
import type { PgCore } from "../store/pg-core.ts";
import { who } from "../store/test-kit.ts";
import { type AuthServiceDeps, registerAuthServices } from "./auth-service.ts";
import { HealthState } from "./health-service.ts";
import { principalKey } from "./principal-context.ts";
import { HEALTH_SERVICE_NAMES, registerCoreServices } from "./register-core-services.ts";

const PRINCIPALS: Record<string, Principal> = {
  alice: who.alice,
  bob: who.bob,
  operator: who.operator,
  admin: who.admin,
};

/** Sets the principal from x-test-principal (tests only). */
export const testPrincipalInterceptor: Interceptor = (next) => async (req) => {
  const name = req.header.get("x-test-principal");
  const p = name ? PRINCIPALS[name] : undefined;
  if (p) req.contextValues.set(principalKey, p);
  return next(req);
};

/** A listening server; dispose closes it and waits for sessions to end. */
export interface TestConnectServer {
  url: string;
  port: number;
  health: HealthState;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Serves the core services of `core` on 127.0.0.1 (port 0 = any free port), plus AuthService
 * and UserService when `auth` is given.
 */
export async function startTestConnectServer(
  core: Pick<PgCore, "sessions" | "templates" | "agents">,
  port = 0,
  opts: { auth?: AuthServiceDeps } = {},
): Promise<TestConnectServer> {
  const health = new HealthState(HEALTH_SERVICE_NAMES);
  const handler = connectNodeAdapter({
    routes: (router) => {
      registerCoreServices(router, {
        sessions: core.sessions,
        templates: core.templates,
        agents: core.agents,
        health,
        log: () => {},
      });
      if (opts.auth) registerAuthServices(router, { log: () => {}, ...opts.auth });
    },
    interceptors: [testPrincipalInterceptor],
    readMaxBytes: 4 * 1024 * 1024,
  });
  const server: Http2Server = createServer(handler);
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const addr = server.address();
  const bound = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    health,
    async [Symbol.asyncDispose]() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sessions) s.close();
      // A stream the peer never finishes (e.g. an oversized upload we refused) must not hold
      // the test open: give graceful close a moment, then cut what is left.
      const cut = setTimeout(() => {
        for (const s of sessions) s.destroy();
      }, 500);
      await closed;
      clearTimeout(cut);
    },
  };
}
