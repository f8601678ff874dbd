/**
 * Sign-in, token rotation, logout and request authentication: the auth rules both transports
 * share. Connect handlers and tRPC procedures call this; neither re-implements a check.
 */
import { randomUUID } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import { DomainError, permissionDenied, unauthenticated } from "../domain/errors.ts";
import { ANONYMOUS, type Principal } from "../domain/principal.ts";
import { type AccessClaims, AccessTokens } from "./access-tokens.ts";
import { ApiKeys } from "./api-keys.ts";
import type { AuthTables, UserRow } from "./auth-schema.ts";
import { loginInput, logoutInput, parseInput, refreshInput } from "./auth-validation.ts";
import { assertNotLocked, clearFailures, recordFailure } from "./login-throttle.ts";
import { DUMMY_HASH_PROMISE, verifyPassword } from "./passwords.ts";
import type { RevocationStore } from "./revocation-store.ts";
import { newSecret, sha256 } from "./tokens-util.ts";

/** Refresh tokens last a week from their last use; an idle browser signs in again after that. */
export const REFRESH_TOKEN_TTL_MS = 7 * 24 * 3600 * 1000;

/** What AuthCore needs; the clock is injected so tests can expire tokens without waiting. */
export interface AuthCoreDeps {
  db: Kysely<AuthTables>;
  jwtSecret: string;
  revocations: RevocationStore;
  now?: () => number;
  refreshTtlMs?: number;
}

/** A user as the auth layer returns it; transports map it to proto or JSON. */
export interface AuthUser {
  id: string;
  username: string;
  displayName: string;
  role: UserRow["role"];
  disabled: boolean;
  createdAt: Date;
}

/** An access/refresh pair with expiry instants, as Login and Refresh return it. */
export interface TokenPair {
  accessToken: string;
  accessExpiresAt: Date;
  refreshToken: string;
  refreshExpiresAt: Date;
}

export const SIGN_IN_FIRST =
  "Sign in first: send 'authorization: Bearer <access token or API key>'.";
const BAD_CREDENTIALS = "Wrong username or password.";
const DISABLED = "Your account is disabled; ask an administrator to enable it.";
const REVOKED_ACCESS = "This access token was revoked (signed out); sign in again.";
const BAD_HEADER = "The authorization header must be 'Bearer <access token or API key>'.";
const BAD_REFRESH = "The refresh token is not valid; sign in again.";
const REUSED_REFRESH =
  "This refresh token was already used, so every token from that sign-in has been revoked; sign in again.";

/** Maps a users row to the transport-neutral shape. */
export function toAuthUser(row: UserRow): AuthUser {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    disabled: row.disabled,
    createdAt: row.created_at,
  };
}

/** The auth service core: one instance per process, shared by every request. */
export class AuthCore {
  readonly #db: Kysely<AuthTables>;
  readonly #access: AccessTokens;
  readonly #revocations: RevocationStore;
  readonly #now: () => number;
  readonly #refreshTtlMs: number;
  /** API keys: create, list, revoke, authenticate. */
  readonly apiKeys: ApiKeys;

  constructor(deps: AuthCoreDeps) {
    this.#db = deps.db;
    this.#now = deps.now ?? Date.now;
    this.#access = new AccessTokens(deps.jwtSecret, this.#now);
    this.#revocations = deps.revocations;
    this.#refreshTtlMs = deps.refreshTtlMs ?? REFRESH_TOKEN_TTL_MS;
    this.apiKeys = new ApiKeys(deps.db, this.#now);
  }

  /** Checks the password and opens a new refresh-token family. */
  async login(input: { username: string; password: string }): Promise<{
    tokens: TokenPair;
    user: AuthUser;
  }> {
    const { username, password } = parseInput(loginInput, input);
    const row = await this.#db
      .selectFrom("users")
      .selectAll()
      .where("username", "=", username.toLowerCase())
      .executeTakeFirst();
    if (row) assertNotLocked(row, this.#now());
    // Hash even for unknown users, so response time does not reveal which usernames exist.
    const ok = await verifyPassword(password, row?.password_hash ?? (await DUMMY_HASH_PROMISE()));
    if (row && !ok) await recordFailure(this.#db, row.id, this.#now());
    if (!row || !ok) throw unauthenticated(BAD_CREDENTIALS);
    if (row.disabled) throw permissionDenied(DISABLED);
    await clearFailures(this.#db, row);
    const tokens = await this.#db.transaction().execute((tx) => this.#issue(tx, row, randomUUID()));
    return { tokens, user: toAuthUser(row) };
  }

  /**
   * Rotates a refresh token. Presenting one that was already rotated means it leaked (or a
   * client raced itself): the whole family and its access tokens are revoked.
   */
  async refresh(input: { refreshToken: string }): Promise<TokenPair> {
    const { refreshToken } = parseInput(refreshInput, input);
    const now = new Date(this.#now());
    const outcome = await this.#db.transaction().execute(async (tx) => {
      const row = await tx
        .selectFrom("refresh_tokens")
        .selectAll()
        .where("hash", "=", sha256(refreshToken))
        .forUpdate()
        .executeTakeFirst();
      if (!row) return { kind: "error", message: BAD_REFRESH } as const;
      if (row.revoked_at) {
        if (row.replaced_by) return { kind: "reused", familyId: row.family_id } as const;
        return {
          kind: "error",
          message: "The refresh token was revoked (signed out); sign in again.",
        } as const;
      }
      if (row.expires_at <= now) {
        return { kind: "error", message: "The refresh token expired; sign in again." } as const;
      }
      const user = await tx
        .selectFrom("users")
        .selectAll()
        .where("id", "=", row.user_id)
        .executeTakeFirst();
      if (!user) return { kind: "error", message: BAD_REFRESH } as const;
      if (user.disabled) return { kind: "disabled" } as const;
      const tokens = await this.#issue(tx, user, row.family_id, row.id);
      return { kind: "ok", tokens } as const;
    });
    switch (outcome.kind) {
      case "ok":
        return outcome.tokens;
      case "disabled":
        throw permissionDenied(DISABLED);
      case "reused":
        // Outside the transaction: the revocation must stick even though the call fails.
        await this.revokeFamily(outcome.familyId);
        throw unauthenticated(REUSED_REFRESH);
      case "error":
        throw unauthenticated(outcome.message);
    }
  }

  /**
   * Revokes the given refresh token's family and the caller's current access token on every
   * pod. Idempotent: logging out twice, or with an unknown refresh token, still succeeds.
   */
  async logout(
    principal: Principal,
    input: { refreshToken: string },
    bearer?: string,
  ): Promise<void> {
    const { refreshToken } = parseInput(logoutInput, input);
    if (principal.kind !== "user") throw unauthenticated(SIGN_IN_FIRST);
    if (refreshToken) {
      const row = await this.#db
        .selectFrom("refresh_tokens")
        .select(["family_id", "user_id"])
        .where("hash", "=", sha256(refreshToken))
        .executeTakeFirst();
      if (row && row.user_id !== principal.userId) {
        throw permissionDenied("That refresh token belongs to another user; send your own.");
      }
      if (row) await this.revokeFamily(row.family_id);
    }
    if (principal.via === "access_token" && bearer) {
      const claims = await this.#access.verify(bearerToken(bearer));
      await this.#revocations.revoke(claims.jti, claims.expiresAt);
    }
  }

  /** Revokes every refresh token of a family and the access tokens minted with them. */
  async revokeFamily(familyId: string): Promise<void> {
    const now = new Date(this.#now());
    await this.#db
      .updateTable("refresh_tokens")
      .set({ revoked_at: now })
      .where("family_id", "=", familyId)
      .where("revoked_at", "is", null)
      .execute();
    const live = await this.#db
      .selectFrom("refresh_tokens")
      .select(["access_jti", "access_expires_at"])
      .where("family_id", "=", familyId)
      .where("access_expires_at", ">", now)
      .execute();
    for (const r of live) await this.#revocations.revoke(r.access_jti, r.access_expires_at);
  }

  /** Revokes every refresh token a user holds (on disable), so nobody can mint new access tokens. */
  async revokeAllForUser(userId: string): Promise<void> {
    const families = await this.#db
      .selectFrom("refresh_tokens")
      .select("family_id")
      .distinct()
      .where("user_id", "=", userId)
      .where("revoked_at", "is", null)
      .execute();
    for (const f of families) await this.revokeFamily(f.family_id);
  }

  /**
   * Resolves an `authorization` header value into a Principal. No header is anonymous; a
   * header that does not prove a live, enabled user throws (Unauthenticated/PermissionDenied).
   */
  async authenticate(header: string | null | undefined): Promise<Principal> {
    if (header === null || header === undefined || header.trim() === "") return ANONYMOUS;
    const token = bearerToken(header);
    if (token.startsWith("ssk_")) {
      const key = await this.apiKeys.authenticate(token);
      return this.#principalFor(key.userId, "api_key");
    }
    const claims: AccessClaims = await this.#access.verify(token);
    // The user is checked before revocation, so a disabled user hears "disabled", the
    // actionable reason, even though disabling also revoked their tokens.
    const principal = await this.#principalFor(claims.userId, "access_token", claims.jti);
    if (await this.#revocations.isRevoked(claims.jti)) throw unauthenticated(REVOKED_ACCESS);
    return principal;
  }

  /** The signed-in user's current row (role and disabled flag may have changed since sign-in). */
  async whoAmI(principal: Principal): Promise<AuthUser> {
    if (principal.kind !== "user") throw unauthenticated(SIGN_IN_FIRST);
    const row = await this.#db
      .selectFrom("users")
      .selectAll()
      .where("id", "=", principal.userId)
      .executeTakeFirst();
    if (!row) throw unauthenticated("Your user no longer exists; sign in again.");
    return toAuthUser(row);
  }

  async #principalFor(
    userId: string,
    via: "access_token" | "api_key",
    tokenId?: string,
  ): Promise<Principal> {
    const user = await this.#db
      .selectFrom("users")
      .select(["id", "username", "role", "disabled"])
      .where("id", "=", userId)
      .executeTakeFirst();
    if (!user)
      throw unauthenticated("The user of this credential no longer exists; sign in again.");
    if (user.disabled) throw permissionDenied(DISABLED);
    // The role comes from the database, not the token, so a demotion takes effect at once.
    const p: Principal = {
      kind: "user",
      userId: user.id,
      username: user.username,
      role: user.role,
      via,
    };
    if (tokenId) p.tokenId = tokenId;
    return p;
  }

  async #issue(
    tx: Transaction<AuthTables>,
    user: UserRow,
    familyId: string,
    replaces?: string,
  ): Promise<TokenPair> {
    const { token: accessToken, claims } = await this.#access.sign(user.id, user.role);
    const refreshToken = newSecret("ssr_");
    const now = this.#now();
    const refreshExpiresAt = new Date(now + this.#refreshTtlMs);
    const inserted = await tx
      .insertInto("refresh_tokens")
      .values({
        user_id: user.id,
        family_id: familyId,
        hash: sha256(refreshToken),
        access_jti: claims.jti,
        access_expires_at: claims.expiresAt,
        created_at: new Date(now),
        expires_at: refreshExpiresAt,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    if (replaces) {
      await tx
        .updateTable("refresh_tokens")
        .set({ revoked_at: new Date(now), replaced_by: inserted.id })
        .where("id", "=", replaces)
        .execute();
    }
    return { accessToken, accessExpiresAt: claims.expiresAt, refreshToken, refreshExpiresAt };
  }
}

/** Extracts the token from "Bearer <token>" (scheme case-insensitive, as RFC 6750 allows). */
export function bearerToken(header: string): string {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1]) throw unauthenticated(BAD_HEADER);
  return m[1];
}

/** True for errors that mean "this credential is no good", which public RPCs may ignore. */
export function isCredentialError(err: unknown): boolean {
  return (
    err instanceof DomainError &&
    (err.code === "unauthenticated" || err.code === "permission_denied")
  );
}
