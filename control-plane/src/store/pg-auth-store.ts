/**
 * The auth tables (users, refresh_tokens, api_keys) on Postgres/PGlite: the only module that
 * writes them. The rules (who may, when a token is stale, how long a lock lasts) stay in
 * auth/; this file only turns each port method into one statement.
 */
import type { Kysely, Selectable } from "kysely";
import type {
  ApiKeyRecord,
  ApiKeyRepo,
  AuthRepos,
  AuthStore,
  RefreshTokenRepo,
  UserRecord,
  UserRepo,
} from "../auth/auth-ports.ts";
import { isUniqueViolation } from "./database.ts";
import type { ApiKeysTable, Database, UsersTable } from "./schema.ts";

function userFromRow(r: Selectable<UsersTable>): UserRecord {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    role: r.role,
    passwordHash: r.password_hash,
    disabled: r.disabled,
    createdAt: r.created_at,
    failedLogins: r.failed_logins,
    lockedUntil: r.locked_until,
  };
}

function apiKeyFromRow(r: Omit<Selectable<ApiKeysTable>, "secret_hash">): ApiKeyRecord {
  return {
    id: r.id,
    userId: r.user_id,
    name: r.name,
    prefix: r.prefix,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

/** Every column but the secret's hash, which auth never reads back. */
const API_KEY_COLUMNS = [
  "id",
  "user_id",
  "name",
  "prefix",
  "created_at",
  "expires_at",
  "last_used_at",
  "revoked_at",
] as const;

function createUserStore(db: Kysely<Database>): UserRepo {
  return {
    async get(id) {
      const row = await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
      return row && userFromRow(row);
    },
    async findByUsername(username) {
      const row = await db
        .selectFrom("users")
        .selectAll()
        .where("username", "=", username)
        .executeTakeFirst();
      return row && userFromRow(row);
    },
    async list(limit, afterUsername) {
      let q = db.selectFrom("users").selectAll().orderBy("username").limit(limit);
      if (afterUsername !== undefined) q = q.where("username", ">", afterUsername);
      return (await q.execute()).map(userFromRow);
    },
    async insert(u) {
      try {
        const row = await db
          .insertInto("users")
          .values({
            username: u.username,
            display_name: u.displayName,
            role: u.role,
            password_hash: u.passwordHash,
            created_at: u.createdAt,
          })
          .onConflict((oc) => oc.column("username").doNothing())
          .returningAll()
          .executeTakeFirst();
        return row && userFromRow(row);
      } catch (err) {
        // Belt and braces: a conflict the ON CONFLICT clause did not catch reads the same.
        if (isUniqueViolation(err)) return undefined;
        throw err;
      }
    },
    async update(id, patch) {
      const row = await db
        .updateTable("users")
        .set({
          ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
          ...(patch.role !== undefined ? { role: patch.role } : {}),
          ...(patch.failedLogins !== undefined ? { failed_logins: patch.failedLogins } : {}),
          ...(patch.lockedUntil !== undefined ? { locked_until: patch.lockedUntil } : {}),
          ...(patch.passwordHash !== undefined ? { password_hash: patch.passwordHash } : {}),
        })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      return row && userFromRow(row);
    },
    async countFailedLogin(id) {
      const row = await db
        .updateTable("users")
        .set((eb) => ({ failed_logins: eb("failed_logins", "+", 1) }))
        .where("id", "=", id)
        .returning("failed_logins")
        .executeTakeFirst();
      return row?.failed_logins ?? 0;
    },
    async anyAdminId() {
      const row = await db
        .selectFrom("users")
        .select("id")
        .where("role", "=", "admin")
        .limit(1)
        .executeTakeFirst();
      return row?.id;
    },
    async lockEnabledAdmins() {
      const rows = await db
        .selectFrom("users")
        .select("id")
        .where("role", "=", "admin")
        .where("disabled", "=", false)
        .forUpdate()
        .execute();
      return rows.map((r) => r.id);
    },
  };
}

function createRefreshTokenStore(db: Kysely<Database>): RefreshTokenRepo {
  return {
    async findByHash(hash, opts) {
      let q = db.selectFrom("refresh_tokens").selectAll().where("hash", "=", hash);
      if (opts?.forUpdate) q = q.forUpdate();
      const r = await q.executeTakeFirst();
      return (
        r && {
          id: r.id,
          userId: r.user_id,
          familyId: r.family_id,
          accessJti: r.access_jti,
          accessExpiresAt: r.access_expires_at,
          expiresAt: r.expires_at,
          revokedAt: r.revoked_at,
          replacedBy: r.replaced_by,
        }
      );
    },
    async insert(t) {
      const row = await db
        .insertInto("refresh_tokens")
        .values({
          user_id: t.userId,
          family_id: t.familyId,
          hash: t.hash,
          access_jti: t.accessJti,
          access_expires_at: t.accessExpiresAt,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      return row.id;
    },
    async markReplaced(id, at, replacedBy) {
      await db
        .updateTable("refresh_tokens")
        .set({ revoked_at: at, replaced_by: replacedBy })
        .where("id", "=", id)
        .execute();
    },
    async revokeFamily(familyId, at) {
      await db
        .updateTable("refresh_tokens")
        .set({ revoked_at: at })
        .where("family_id", "=", familyId)
        .where("revoked_at", "is", null)
        .execute();
    },
    async liveAccessTokens(familyId, now) {
      const rows = await db
        .selectFrom("refresh_tokens")
        .select(["access_jti", "access_expires_at"])
        .where("family_id", "=", familyId)
        .where("access_expires_at", ">", now)
        .execute();
      return rows.map((r) => ({ jti: r.access_jti, expiresAt: r.access_expires_at }));
    },
    async openFamilies(userId) {
      const rows = await db
        .selectFrom("refresh_tokens")
        .select("family_id")
        .distinct()
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .execute();
      return rows.map((r) => r.family_id);
    },
  };
}

function createApiKeyStore(db: Kysely<Database>): ApiKeyRepo {
  return {
    async countUnrevoked(userId) {
      const r = await db
        .selectFrom("api_keys")
        .select((eb) => eb.fn.countAll<string>().as("n"))
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .executeTakeFirstOrThrow();
      return Number(r.n);
    },
    async insert(k) {
      const row = await db
        .insertInto("api_keys")
        .values({
          user_id: k.userId,
          name: k.name,
          prefix: k.prefix,
          secret_hash: k.secretHash,
          created_at: k.createdAt,
          expires_at: k.expiresAt,
        })
        .returning(API_KEY_COLUMNS)
        .executeTakeFirstOrThrow();
      return apiKeyFromRow(row);
    },
    async listUsable(userId, now) {
      const rows = await db
        .selectFrom("api_keys")
        .select(API_KEY_COLUMNS)
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
        .orderBy("created_at", "desc")
        .orderBy("id")
        .execute();
      return rows.map(apiKeyFromRow);
    },
    async revoke(id, at, ownerId) {
      let q = db
        .updateTable("api_keys")
        .set({ revoked_at: at })
        .where("id", "=", id)
        .where("revoked_at", "is", null);
      if (ownerId !== undefined) q = q.where("user_id", "=", ownerId);
      const res = await q.executeTakeFirst();
      return res.numUpdatedRows > 0n;
    },
    async findBySecretHash(hash) {
      const row = await db
        .selectFrom("api_keys")
        .select(API_KEY_COLUMNS)
        .where("secret_hash", "=", hash)
        .executeTakeFirst();
      return row && apiKeyFromRow(row);
    },
    async touchLastUsed(id, at) {
      await db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
    },
  };
}

function createAuthRepos(db: Kysely<Database>): AuthRepos {
  return {
    users: createUserStore(db),
    refreshTokens: createRefreshTokenStore(db),
    apiKeys: createApiKeyStore(db),
  };
}

/** The AuthStore over the pool; transaction() rebinds every repository to one transaction. */
export function createPgAuthStore(db: Kysely<Database>): AuthStore {
  return {
    ...createAuthRepos(db),
    transaction: (fn) => db.transaction().execute((trx) => fn(createAuthRepos(trx))),
  };
}
