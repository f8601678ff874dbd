/**
 * API keys for SDKs and grpcurl: `ssk_<random>` shown once at creation, stored as SHA-256 with
 * a short prefix for telling keys apart. A key authenticates as its owner until it is revoked
 * or expires.
 */
import type { Kysely } from "kysely";
import { notFound, permissionDenied, unauthenticated } from "../domain/errors.ts";
import type { Principal } from "../domain/principal.ts";
import type { ApiKeyRow, AuthTables } from "./auth-schema.ts";
import { createApiKeyInput, idInput, parseInput } from "./auth-validation.ts";
import { newSecret, sha256 } from "./tokens-util.ts";

/** Characters of the secret kept in clear: "ssk_" plus 8, enough to recognise, useless to guess. */
export const API_KEY_PREFIX_LEN = 12;
/** last_used_at is written at most this often per key, so authentication is not a write per call. */
const LAST_USED_RESOLUTION_MS = 60_000;
/** Bound on keys per user, so a script in a loop cannot fill the table. */
export const MAX_API_KEYS_PER_USER = 100;

/** An API key as listed; the secret is never part of it. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

function toInfo(r: ApiKeyRow): ApiKeyInfo {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
  };
}

function signedIn(p: Principal): Extract<Principal, { kind: "user" }> {
  if (p.kind !== "user") {
    throw unauthenticated("Sign in first: send 'authorization: Bearer <access token or API key>'.");
  }
  return p;
}

/** API-key operations; owned by AuthCore, exposed to the handlers as `auth.apiKeys`. */
export class ApiKeys {
  readonly #db: Kysely<AuthTables>;
  readonly #now: () => number;

  constructor(db: Kysely<AuthTables>, now: () => number) {
    this.#db = db;
    this.#now = now;
  }

  /**
   * Creates a key for the caller. Only a signed-in person (access token) may mint keys: a
   * leaked key must not be able to mint itself successors.
   */
  async create(
    principal: Principal,
    input: { name: string; ttl: number },
  ): Promise<{ key: ApiKeyInfo; secret: string }> {
    const p = signedIn(principal);
    if (p.via === "api_key") {
      throw permissionDenied("API keys cannot create API keys; sign in with a password first.");
    }
    const { name, ttl } = parseInput(createApiKeyInput, input);
    const count = await this.#db
      .selectFrom("api_keys")
      .select((eb) => eb.fn.countAll<string>().as("n"))
      .where("user_id", "=", p.userId)
      .where("revoked_at", "is", null)
      .executeTakeFirstOrThrow();
    if (Number(count.n) >= MAX_API_KEYS_PER_USER) {
      throw permissionDenied(
        `You already have ${MAX_API_KEYS_PER_USER} API keys; revoke unused ones first.`,
      );
    }
    const secret = newSecret("ssk_");
    const now = this.#now();
    const row = await this.#db
      .insertInto("api_keys")
      .values({
        user_id: p.userId,
        name,
        prefix: secret.slice(0, API_KEY_PREFIX_LEN),
        secret_hash: sha256(secret),
        created_at: new Date(now),
        expires_at: ttl === 0 ? null : new Date(now + ttl * 1000),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { key: toInfo(row), secret };
  }

  /** The caller's keys that still work (not revoked, not expired), newest first. */
  async list(principal: Principal): Promise<ApiKeyInfo[]> {
    const p = signedIn(principal);
    const rows = await this.#db
      .selectFrom("api_keys")
      .selectAll()
      .where("user_id", "=", p.userId)
      .where("revoked_at", "is", null)
      .where((eb) =>
        eb.or([eb("expires_at", "is", null), eb("expires_at", ">", new Date(this.#now()))]),
      )
      .orderBy("created_at", "desc")
      .orderBy("id")
      .execute();
    return rows.map(toInfo);
  }

  /** Revokes one of the caller's keys; admins may revoke anyone's. Others' keys read as not found. */
  async revoke(principal: Principal, input: { id: string }): Promise<void> {
    const p = signedIn(principal);
    const { id } = parseInput(idInput, input);
    let q = this.#db
      .updateTable("api_keys")
      .set({ revoked_at: new Date(this.#now()) })
      .where("id", "=", id)
      .where("revoked_at", "is", null);
    if (p.role !== "admin") q = q.where("user_id", "=", p.userId);
    const res = await q.executeTakeFirst();
    if (res.numUpdatedRows === 0n) {
      throw notFound(`No active API key with id ${id}; list your keys with ListApiKeys.`);
    }
  }

  /** Resolves a presented secret to its key row; any failure is Unauthenticated. */
  async authenticate(secret: string): Promise<{ userId: string; keyId: string }> {
    const row = await this.#db
      .selectFrom("api_keys")
      .select(["id", "user_id", "expires_at", "revoked_at", "last_used_at"])
      .where("secret_hash", "=", sha256(secret))
      .executeTakeFirst();
    if (!row)
      throw unauthenticated("The API key is not valid; create a new one with CreateApiKey.");
    if (row.revoked_at) throw unauthenticated("The API key was revoked; create a new one.");
    const now = this.#now();
    if (row.expires_at && row.expires_at.getTime() <= now) {
      throw unauthenticated("The API key expired; create a new one.");
    }
    if (!row.last_used_at || now - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.#db
        .updateTable("api_keys")
        .set({ last_used_at: new Date(now) })
        .where("id", "=", row.id)
        .execute();
    }
    return { userId: row.user_id, keyId: row.id };
  }
}
