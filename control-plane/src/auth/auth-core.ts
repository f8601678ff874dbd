/**
 * Sign-in, token rotation, logout and request authentication: the auth rules both transports
 * share. Connect handlers and tRPC procedures call this; neither re-implements a check.
 */
import { randomUUID } from "node:crypto";
import { DomainError, permissionDenied, unauthenticated } from "../domain/errors.ts";
import { ANONYMOUS, type Principal, type Role } from "../domain/principal.ts";
import { type AccessClaims, AccessTokens } from "./access-tokens.ts";
import { ApiKeys } from "./api-keys.ts";
import type { AuthRepos, AuthStore, UserRecord } from "./auth-ports.ts";
import { loginInput, logoutInput, parseInput, refreshInput } from "./auth-validation.ts";
import { assertNotLocked, clearFailures, recordFailure } from "./login-throttle.ts";
import { DUMMY_HASH_PROMISE, verifyPassword } from "./passwords.ts";
import type { RevocationStore } from "./revocation-store.ts";
import { newSecret, sha256 } from "./tokens-util.ts";

/** Refresh tokens last a week from their last use; an idle browser signs in again after that. */
export const REFRESH_TOKEN_TTL_MS = 7 * 24 * 3600 * 1000;

/** What AuthCore needs; the clock is injected so tests can expire tokens without waiting. */
export interface AuthCoreDeps {
  store: AuthStore;
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
  role: Role;
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

/** Maps a stored user to the transport-neutral shape (no password hash, no lock state). */
export function toAuthUser(row: UserRecord): AuthUser {
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    role: row.role,
    disabled: row.disabled,
    createdAt: row.createdAt,
  };
}

/** The auth service core: one instance per process, shared by every request. */
export class AuthCore {
  readonly #store: AuthStore;
  readonly #access: AccessTokens;
  readonly #revocations: RevocationStore;
  readonly #now: () => number;
  readonly #refreshTtlMs: number;
  /** API keys: create, list, revoke, authenticate. */
  readonly apiKeys: ApiKeys;

  constructor(deps: AuthCoreDeps) {
    this.#store = deps.store;
    this.#now = deps.now ?? Date.now;
    this.#access = new AccessTokens(deps.jwtSecret, this.#now);
    this.#revocations = deps.revocations;
    this.#refreshTtlMs = deps.refreshTtlMs ?? REFRESH_TOKEN_TTL_MS;
    this.apiKeys = new ApiKeys(deps.store.apiKeys, this.#now);
  }

  /** Checks the password and opens a new refresh-token family. */
  async login(input: { username: string; password: string }): Promise<{
    tokens: TokenPair;
    user: AuthUser;
  }> {
    const { username, password } = parseInput(loginInput, input);
    const row = await this.#store.users.findByUsername(username.toLowerCase());
    if (row) assertNotLocked(row, this.#now());
    // Hash even for unknown users, so response time does not reveal which usernames exist.
    const ok = await verifyPassword(password, row?.passwordHash ?? (await DUMMY_HASH_PROMISE()));
    if (row && !ok) await recordFailure(this.#store.users, row.id, this.#now());
    if (!row || !ok) throw unauthenticated(BAD_CREDENTIALS);
    if (row.disabled) throw permissionDenied(DISABLED);
    await clearFailures(this.#store.users, row);
    const tokens = await this.#store.transaction((tx) => this.#issue(tx, row, randomUUID()));
    return { tokens, user: toAuthUser(row) };
  }

  /**
   * Rotates a refresh token. Presenting one that was already rotated means it leaked (or a
   * client raced itself): the whole family and its access tokens are revoked.
   */
  async refresh(input: { refreshToken: string }): Promise<TokenPair> {
    const { refreshToken } = parseInput(refreshInput, input);
    const now = new Date(this.#now());
    const outcome = await this.#store.transaction(async (tx) => {
      const row = await tx.refreshTokens.findByHash(sha256(refreshToken), { forUpdate: true });
      if (!row) return { kind: "error", message: BAD_REFRESH } as const;
      if (row.revokedAt) {
        if (row.replacedBy) return { kind: "reused", familyId: row.familyId } as const;
        return {
          kind: "error",
          message: "The refresh token was revoked (signed out); sign in again.",
        } as const;
      }
      if (row.expiresAt <= now) {
        return { kind: "error", message: "The refresh token expired; sign in again." } as const;
      }
      const user = await tx.users.get(row.userId);
      if (!user) return { kind: "error", message: BAD_REFRESH } as const;
      if (user.disabled) return { kind: "disabled" } as const;
      const tokens = await this.#issue(tx, user, row.familyId, row.id);
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
      const row = await this.#store.refreshTokens.findByHash(sha256(refreshToken));
      if (row && row.userId !== principal.userId) {
        throw permissionDenied("That refresh token belongs to another user; send your own.");
      }
      if (row) await this.revokeFamily(row.familyId);
    }
    if (principal.via === "access_token" && bearer) {
      const claims = await this.#access.verify(bearerToken(bearer));
      await this.#revocations.revoke(claims.jti, claims.expiresAt);
    }
  }

  /** Revokes every refresh token of a family and the access tokens minted with them. */
  async revokeFamily(familyId: string): Promise<void> {
    const now = new Date(this.#now());
    await this.#store.refreshTokens.revokeFamily(familyId, now);
    const live = await this.#store.refreshTokens.liveAccessTokens(familyId, now);
    for (const r of live) await this.#revocations.revoke(r.jti, r.expiresAt);
  }

  /** Revokes every refresh token a user holds (on disable), so nobody can mint new access tokens. */
  async revokeAllForUser(userId: string): Promise<void> {
    const families = await this.#store.refreshTokens.openFamilies(userId);
    for (const f of families) await this.revokeFamily(f);
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
      const p = await this.#principalFor(key.userId, "api_key");
      return p.kind === "user" ? { ...p, apiKeyId: key.keyId } : p;
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
    const row = await this.#store.users.get(principal.userId);
    if (!row) throw unauthenticated("Your user no longer exists; sign in again.");
    return toAuthUser(row);
  }

  async #principalFor(
    userId: string,
    via: "access_token" | "api_key",
    tokenId?: string,
  ): Promise<Principal> {
    const user = await this.#store.users.get(userId);
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
    tx: AuthRepos,
    user: UserRecord,
    familyId: string,
    replaces?: string,
  ): Promise<TokenPair> {
    const { token: accessToken, claims } = await this.#access.sign(user.id, user.role);
    const refreshToken = newSecret("ssr_");
    const now = this.#now();
    const refreshExpiresAt = new Date(now + this.#refreshTtlMs);
    const inserted = await tx.refreshTokens.insert({
      userId: user.id,
      familyId,
      hash: sha256(refreshToken),
      accessJti: claims.jti,
      accessExpiresAt: claims.expiresAt,
      createdAt: new Date(now),
      expiresAt: refreshExpiresAt,
    });
    if (replaces) await tx.refreshTokens.markReplaced(replaces, new Date(now), inserted);
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
