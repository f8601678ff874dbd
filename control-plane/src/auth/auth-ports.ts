/**
 * What the auth rules need from storage: users, refresh-token families and API keys. The
 * interfaces live here, beside AuthCore, UserAdmin and ApiKeys that use them, so auth/ never
 * sees SQL; store/pg-auth-store.ts implements them over the users, refresh_tokens and api_keys
 * tables. Records are plain values; secrets appear only as their SHA-256.
 */
import type { Role } from "../domain/principal.ts";

/** A users row as auth reads it. */
export interface UserRecord {
  id: string;
  /** Lower-case and unique. */
  username: string;
  displayName: string;
  role: Role;
  /** `scrypt$N$r$p$salt$hash` (auth/passwords.ts). */
  passwordHash: string;
  disabled: boolean;
  createdAt: Date;
  /** Consecutive wrong passwords since the last good sign-in (login-throttle.ts). */
  failedLogins: number;
  /** Sign-ins are refused until this instant. */
  lockedUntil: Date | null;
}

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  createdAt: Date;
}

/** The columns an admin action or the login throttle may change. */
export interface UserPatch {
  disabled?: boolean;
  role?: Role;
  failedLogins?: number;
  lockedUntil?: Date | null;
  /** A new `scrypt$…` hash (an admin's password reset). */
  passwordHash?: string;
}

export interface UserRepo {
  get(id: string): Promise<UserRecord | undefined>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  /** Ordered by username, strictly after `afterUsername`. */
  list(limit: number, afterUsername?: string): Promise<UserRecord[]>;
  /**
   * Undefined when the username is taken, also when another pod inserted it a moment ago, so
   * racing first starts and duplicate CreateUser calls need no error parsing.
   */
  insert(u: NewUser): Promise<UserRecord | undefined>;
  update(id: string, patch: UserPatch): Promise<UserRecord | undefined>;
  /** Adds one failed sign-in and returns the new count (0 when the user is gone). */
  countFailedLogin(id: string): Promise<number>;
  /** Some admin's id, enabled or not (first start creates one only when there is none). */
  anyAdminId(): Promise<string | undefined>;
  /**
   * Row-locks every enabled admin until the transaction ends and returns their ids, so two
   * admins demoting each other serialise and the second sees the first one's change.
   */
  lockEnabledAdmins(): Promise<string[]>;
}

/** One refresh token; the token itself is never stored, only its hash. */
export interface RefreshTokenRecord {
  id: string;
  userId: string;
  familyId: string;
  accessJti: string;
  accessExpiresAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  /** Set when the token was rotated; a rotated token presented again means it leaked. */
  replacedBy: string | null;
}

export interface NewRefreshToken {
  userId: string;
  familyId: string;
  hash: string;
  accessJti: string;
  accessExpiresAt: Date;
  createdAt: Date;
  expiresAt: Date;
}

export interface RefreshTokenRepo {
  /** By the SHA-256 of the token; `forUpdate` locks the row until the transaction ends. */
  findByHash(hash: string, opts?: { forUpdate?: boolean }): Promise<RefreshTokenRecord | undefined>;
  /** Returns the new row's id. */
  insert(t: NewRefreshToken): Promise<string>;
  /** Revokes a rotated token and links it to its successor. */
  markReplaced(id: string, at: Date, replacedBy: string): Promise<void>;
  /** Revokes every not yet revoked token of the family. */
  revokeFamily(familyId: string, at: Date): Promise<void>;
  /** Access tokens minted in the family that are still live at `now`, to deny-list them. */
  liveAccessTokens(familyId: string, now: Date): Promise<{ jti: string; expiresAt: Date }[]>;
  /** Families of the user that still hold an unrevoked token. */
  openFamilies(userId: string): Promise<string[]>;
}

/** An API key without its secret. */
export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface NewApiKey {
  userId: string;
  name: string;
  prefix: string;
  secretHash: string;
  createdAt: Date;
  expiresAt: Date | null;
}

export interface ApiKeyRepo {
  /** Keys of the user that were not revoked (expired ones still count against the bound). */
  countUnrevoked(userId: string): Promise<number>;
  insert(k: NewApiKey): Promise<ApiKeyRecord>;
  /** Keys that still work at `now` (neither revoked nor expired), newest first. */
  listUsable(userId: string, now: Date): Promise<ApiKeyRecord[]>;
  /** Revokes a live key; `ownerId` limits it to that user's keys. False when none matched. */
  revoke(id: string, at: Date, ownerId?: string): Promise<boolean>;
  findBySecretHash(hash: string): Promise<ApiKeyRecord | undefined>;
  touchLastUsed(id: string, at: Date): Promise<void>;
}

/** The auth repositories, bound to one connection or one transaction. */
export interface AuthRepos {
  users: UserRepo;
  refreshTokens: RefreshTokenRepo;
  apiKeys: ApiKeyRepo;
}

/** Repositories plus an all-or-nothing transaction (token rotation, last-admin checks). */
export interface AuthStore extends AuthRepos {
  transaction<T>(fn: (tx: AuthRepos) => Promise<T>): Promise<T>;
}
