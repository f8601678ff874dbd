/**
 * API keys for SDKs and grpcurl: `ssk_<random>` shown once at creation, stored as SHA-256 with
 * a short prefix for telling keys apart. A key authenticates as its owner until it is revoked
 * or expires.
 */
import { notFound, permissionDenied, unauthenticated } from "../domain/errors.ts";
import type { Principal } from "../domain/principal.ts";
import type { ApiKeyRecord, ApiKeyRepo } from "./auth-ports.ts";
import { createApiKeyInput, idInput, listApiKeysInput, parseInput } from "./auth-validation.ts";
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
  /** The user the key acts as. */
  userId: string;
  name: string;
  prefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
}

function toInfo(r: ApiKeyRecord): ApiKeyInfo {
  return {
    id: r.id,
    userId: r.userId,
    name: r.name,
    prefix: r.prefix,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    lastUsedAt: r.lastUsedAt,
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
  readonly #keys: ApiKeyRepo;
  readonly #now: () => number;

  constructor(keys: ApiKeyRepo, now: () => number) {
    this.#keys = keys;
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
    if ((await this.#keys.countUnrevoked(p.userId)) >= MAX_API_KEYS_PER_USER) {
      throw permissionDenied(
        `You already have ${MAX_API_KEYS_PER_USER} API keys; revoke unused ones first.`,
      );
    }
    const secret = newSecret("ssk_");
    const now = this.#now();
    const row = await this.#keys.insert({
      userId: p.userId,
      name,
      prefix: secret.slice(0, API_KEY_PREFIX_LEN),
      secretHash: sha256(secret),
      createdAt: new Date(now),
      expiresAt: ttl === 0 ? null : new Date(now + ttl * 1000),
    });
    return { key: toInfo(row), secret };
  }

  /**
   * Keys that still work (not revoked, not expired), newest first: the caller's own, or, for
   * an admin, those of the user named by `userId`. Keys are credentials, so operators see only
   * their own: another user's keys would let them judge, but not manage, someone's access.
   */
  async list(principal: Principal, input: { userId?: string } = {}): Promise<ApiKeyInfo[]> {
    const p = signedIn(principal);
    const { userId } = parseInput(listApiKeysInput, input);
    if (userId && userId !== p.userId && p.role !== "admin") {
      throw permissionDenied(
        "Only admins can list another user's API keys; leave user_id empty for your own.",
      );
    }
    const rows = await this.#keys.listUsable(userId || p.userId, new Date(this.#now()));
    return rows.map(toInfo);
  }

  /** Revokes one of the caller's keys; admins may revoke anyone's. Others' keys read as not found. */
  async revoke(principal: Principal, input: { id: string }): Promise<void> {
    const p = signedIn(principal);
    const { id } = parseInput(idInput, input);
    const owner = p.role === "admin" ? undefined : p.userId;
    if (!(await this.#keys.revoke(id, new Date(this.#now()), owner))) {
      throw notFound(`No active API key with id ${id}; list your keys with ListApiKeys.`);
    }
  }

  /** Resolves a presented secret to its key row; any failure is Unauthenticated. */
  async authenticate(secret: string): Promise<{ userId: string; keyId: string }> {
    const row = await this.#keys.findBySecretHash(sha256(secret));
    if (!row)
      throw unauthenticated("The API key is not valid; create a new one with CreateApiKey.");
    if (row.revokedAt) throw unauthenticated("The API key was revoked; create a new one.");
    const now = this.#now();
    if (row.expiresAt && row.expiresAt.getTime() <= now) {
      throw unauthenticated("The API key expired; create a new one.");
    }
    if (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
      await this.#keys.touchLastUsed(row.id, new Date(now));
    }
    return { userId: row.userId, keyId: row.id };
  }
}
