/**
 * A real control-plane pod for tests: the same createControlPlane the process runs, on a fresh
 * Postgres database (and Redis when asked), bound to a free loopback port. Disposing it closes
 * the pod and drops the database, so a test leaks neither streams nor rows.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createLogger } from "@streamspace/common/log";
import { AuthService } from "@streamspace/proto/streamspace/v1/auth_service_pb";
import { type ControlPlane, createControlPlane } from "../app.ts";
import { loadConfig } from "../config.ts";
import { createTestDatabase } from "../store/test-database.ts";

export const TEST_ADMIN_PASSWORD = "admin-password-for-tests";

export interface TestControlPlane extends AsyncDisposable {
  cp: ControlPlane;
  url: string;
  databaseUrl: string;
  /** Signs in over gRPC and returns an access token. */
  login(username: string, password: string): Promise<string>;
  /** An admin access token, fetched once. */
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

/** Starts a pod; `env` overrides the defaults (e.g. REDIS_URL, AGENT_AUTO_APPROVE). */
export async function startTestControlPlane(
  opts: { env?: Record<string, string>; databaseUrl?: string } = {},
): Promise<TestControlPlane> {
  const testDb = opts.databaseUrl
    ? undefined
    : await createTestDatabase({ migrate: false, poolSize: 1 });
  const databaseUrl = opts.databaseUrl ?? testDb!.url;
  await testDb?.db.destroy();
  const dataDir = mkdtempSync(join(tmpdir(), "ss-cp-"));
  const config = loadConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    JWT_SECRET: "test-secret-test-secret-test-secret-0123",
    ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
    AGENT_BOOTSTRAP_TOKEN: "test-bootstrap-token",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "error",
    ...opts.env,
  });
  const cp = await createControlPlane(
    config,
    createLogger({ level: config.logLevel, base: { pod: config.podName } }),
  );
  const auth = createClient(AuthService, createGrpcTransport({ baseUrl: cp.url }));
  let admin: Promise<string> | undefined;
  const login = async (username: string, password: string) => {
    const res = await auth.login({ username, password });
    return res.tokens!.accessToken;
  };
  const close = async () => {
    await cp.close();
    rmSync(dataDir, { recursive: true, force: true });
    await testDb?.[Symbol.asyncDispose]();
  };
  return {
    cp,
    url: cp.url,
    databaseUrl,
    login,
    adminToken: () => {
      admin ??= login("admin", TEST_ADMIN_PASSWORD);
      return admin;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
