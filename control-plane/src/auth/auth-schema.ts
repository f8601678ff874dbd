/**
 * Kysely row types of the auth tables (migration store/migrations/0002-auth.ts). Core's
 * `Database` extends `AuthTables`, so one Kysely instance serves every table while the auth
 * code only ever sees the three tables it owns.
 */
import type { ColumnType, Generated, Insertable, Kysely, Selectable } from "kysely";

/** Timestamps come back as Date from both pg and PGlite; inserts may pass a Date. */
type Timestamp = ColumnType<Date, Date | undefined, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

/** One person or service account; `role` gates what the principal may touch. */
export interface UsersTable {
  id: Generated<string>;
  username: string;
  display_name: string;
  role: "user" | "operator" | "admin";
  /** `scrypt$N$r$p$salt$hash`, see auth/passwords.ts; parameters travel with the hash. */
  password_hash: string;
  disabled: Generated<boolean>;
  created_at: Timestamp;
  /** Consecutive wrong passwords since the last good sign-in (auth/login-throttle.ts). */
  failed_logins: Generated<number>;
  /** Sign-ins are refused until this instant after too many failures. */
  locked_until: NullableTimestamp;
}

/** SDK and grpcurl credentials; only the SHA-256 of the secret is kept. */
export interface ApiKeysTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  /** The first characters of the secret, so a person can tell keys apart in a list. */
  prefix: string;
  secret_hash: string;
  created_at: Timestamp;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

/**
 * Opaque refresh tokens, rotated on every use. `family_id` ties a login's chain together so a
 * replayed (already rotated) token revokes the whole chain; `access_jti` is the access token
 * minted alongside, revoked with the family.
 */
export interface RefreshTokensTable {
  id: Generated<string>;
  user_id: string;
  family_id: string;
  hash: string;
  access_jti: string;
  access_expires_at: Date;
  created_at: Timestamp;
  expires_at: Date;
  revoked_at: NullableTimestamp;
  replaced_by: string | null;
}

/** The tables the auth module owns; core's Database type extends this interface. */
export interface AuthTables {
  users: UsersTable;
  api_keys: ApiKeysTable;
  refresh_tokens: RefreshTokensTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;

/**
 * Views any control-plane Kysely instance as the auth tables. Kysely's DB parameter is
 * invariant, so `Kysely<Database>` does not widen by itself; the cast is sound because the one
 * migration list (store/migrations/index.ts) always creates these tables alongside core's.
 */
export function asAuthDb<DB>(db: Kysely<DB>): Kysely<AuthTables> {
  return db as unknown as Kysely<AuthTables>;
}
