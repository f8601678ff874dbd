/**
 * Revoked access-token ids. Access tokens are stateless JWTs, so logout must be remembered
 * somewhere every pod can see until the token would have expired anyway; after that the
 * entry is useless and is dropped. The port lets one pod use memory and many pods use Redis.
 */

/** Where revoked token ids live until the token's own expiry. */
export interface RevocationStore {
  /** Remembers `jti` as revoked until `expiresAt` (the token's exp); past instants are no-ops. */
  revoke(jti: string, expiresAt: Date): Promise<void>;
  /** True when `jti` was revoked and the token has not yet expired. */
  isRevoked(jti: string): Promise<boolean>;
}

/** Bound on remembered ids: past it, the entries closest to expiry are evicted first. */
const DEFAULT_MAX_ENTRIES = 100_000;

/**
 * Single-pod revocation: a bounded map from jti to expiry. Correct only when one process
 * serves every request; multi-pod deployments use RedisRevocationStore.
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #entries = new Map<string, number>();
  readonly #now: () => number;
  readonly #max: number;

  constructor(opts: { now?: () => number; maxEntries?: number } = {}) {
    this.#now = opts.now ?? Date.now;
    this.#max = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  async revoke(jti: string, expiresAt: Date): Promise<void> {
    const until = expiresAt.getTime();
    if (until <= this.#now()) return;
    this.#entries.set(jti, until);
    if (this.#entries.size > this.#max) this.#evict();
  }

  async isRevoked(jti: string): Promise<boolean> {
    const until = this.#entries.get(jti);
    if (until === undefined) return false;
    if (until <= this.#now()) {
      this.#entries.delete(jti);
      return false;
    }
    return true;
  }

  /** Number of remembered ids; for tests and metrics. */
  get size(): number {
    return this.#entries.size;
  }

  #evict(): void {
    const now = this.#now();
    for (const [jti, until] of this.#entries) if (until <= now) this.#entries.delete(jti);
    if (this.#entries.size <= this.#max) return;
    // Still full of live entries: drop those that expire soonest, they matter the least.
    const sorted = [...this.#entries].sort((a, b) => a[1] - b[1]);
    for (const [jti] of sorted.slice(0, this.#entries.size - this.#max)) this.#entries.delete(jti);
  }
}
