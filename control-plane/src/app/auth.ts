/**
 * The auth part of a pod: signing keys (viewer and relay tokens, published as JWKS), the JWT
 * secret for access tokens, token revocation (in Redis when pods share it), sign-in and user
 * administration, and the bootstrap admin.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathOf, sendJson } from "@streamspace/common/listener";
import type { Logger } from "@streamspace/common/log";
import type { Redis } from "ioredis";
import type { Kysely } from "kysely";
import { AuthCore } from "../auth/auth-core.ts";
import { bootstrapAdmin } from "../auth/bootstrap-admin.ts";
import { RedisRevocationStore } from "../auth/redis-revocation-store.ts";
import { MemoryRevocationStore } from "../auth/revocation-store.ts";
import { loadSigningKeys } from "../auth/signing-keys.ts";
import { UserAdmin } from "../auth/user-admin.ts";
import { createViewerTokenSigner, type ViewerTokenSigner } from "../auth/viewer-tokens.ts";
import type { ControlPlaneConfig } from "../config.ts";
import type { RouteHandler } from "../server/http-server.ts";
import { createPgAuthStore } from "../store/pg-auth-store.ts";
import type { Database } from "../store/schema.ts";

/** What the other parts use: sign-in and users for the transports, the token signer. */
export interface AuthPart {
  auth: AuthCore;
  users: UserAdmin;
  tokenSigner: ViewerTokenSigner;
  /** Serves `/.well-known/jwks.json`, so relays verify viewer tokens without a database. */
  jwks: RouteHandler;
}

/** Builds the auth part and makes sure an admin exists (ADMIN_PASSWORD). */
export async function createAuthPart(opts: {
  config: Pick<ControlPlaneConfig, "signingKeyFile" | "dataDir" | "jwtSecret" | "adminPassword">;
  db: Kysely<Database>;
  redis: Redis | undefined;
  log: Logger;
}): Promise<AuthPart> {
  const { config, log } = opts;
  const authStore = createPgAuthStore(opts.db);
  const signingKeys = await loadSigningKeys({
    keyFile: config.signingKeyFile,
    dataDir: config.dataDir,
  });
  const revocations = opts.redis
    ? new RedisRevocationStore(opts.redis, { log: (msg, err) => log.error(msg, { err }) })
    : new MemoryRevocationStore();
  const jwtSecret = config.jwtSecret ?? persistentJwtSecret(config.dataDir);
  const auth = new AuthCore({ store: authStore, jwtSecret, revocations });
  const users = new UserAdmin({ store: authStore, onDisabled: (id) => auth.revokeAllForUser(id) });
  await bootstrapAdmin(authStore.users, { ADMIN_PASSWORD: config.adminPassword });
  return {
    auth,
    users,
    tokenSigner: createViewerTokenSigner(signingKeys),
    jwks: (req, res) =>
      pathOf(req) === "/.well-known/jwks.json" ? sendJson(res, 200, signingKeys.jwks) : false,
  };
}

/** Single node without JWT_SECRET: keep a generated secret beside the data so tokens survive restarts. */
function persistentJwtSecret(dataDir: string): string {
  const file = join(dataDir, "jwt-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
