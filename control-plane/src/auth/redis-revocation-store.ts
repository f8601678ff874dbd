/**
 * Revocations shared by every pod through Redis: one key per revoked jti with a TTL equal to
 * the token's remaining life, so Redis forgets it exactly when it stops mattering.
 *
 * Decision (DESIGN.md §3.1, Redis is routing and cache): when Redis is unreachable the API
 * keeps serving. Each pod mirrors the revocations it wrote in memory, so a logout is always
 * honoured on the pod that took it; revocations written during the outage are replayed to
 * Redis once it answers again. Other pods may accept a just-revoked token until Redis
 * returns (at most the token's 15 minutes); that is logged once per outage.
 */
import { createLogger } from "@streamspace/common/log";
import type { Redis } from "ioredis";
import { MemoryRevocationStore, type RevocationStore } from "./revocation-store.ts";

const defaultLog = createLogger({ base: { component: "revocations" } });

/** Options; `timeoutMs` bounds each Redis call so a hung connection never stalls a request. */
export interface RedisRevocationOptions {
  keyPrefix?: string;
  now?: () => number;
  timeoutMs?: number;
  log?: (msg: string, err?: unknown) => void;
}

/** Many-pod revocation; a logout on pod A is refused on pod B on the very next request. */
export class RedisRevocationStore implements RevocationStore {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #now: () => number;
  readonly #timeoutMs: number;
  readonly #log: (msg: string, err?: unknown) => void;
  readonly #local: MemoryRevocationStore;
  /** Revocations Redis has not acknowledged yet, replayed on the next successful call. */
  readonly #pending = new Map<string, Date>();
  #degraded = false;

  constructor(redis: Redis, opts: RedisRevocationOptions = {}) {
    this.#redis = redis;
    this.#prefix = opts.keyPrefix ?? "streamspace:revoked:";
    this.#now = opts.now ?? Date.now;
    this.#timeoutMs = opts.timeoutMs ?? 500;
    this.#log = opts.log ?? ((msg, err) => defaultLog.error(msg, { err }));
    this.#local = new MemoryRevocationStore({ now: this.#now });
  }

  async revoke(jti: string, expiresAt: Date): Promise<void> {
    await this.#local.revoke(jti, expiresAt);
    this.#pending.set(jti, expiresAt);
    await this.#flush();
  }

  async isRevoked(jti: string): Promise<boolean> {
    if (await this.#local.isRevoked(jti)) return true;
    try {
      const hit = await this.#call(() => this.#redis.exists(this.#prefix + jti));
      this.#recovered();
      if (this.#pending.size > 0) void this.#flush();
      return hit === 1;
    } catch (err) {
      this.#failed(err);
      return false;
    }
  }

  /** True while Redis is unreachable; surfaced on /ready as a degraded detail. */
  get degraded(): boolean {
    return this.#degraded;
  }

  async #flush(): Promise<void> {
    for (const [jti, expiresAt] of [...this.#pending]) {
      const ttlMs = expiresAt.getTime() - this.#now();
      try {
        if (ttlMs > 0) {
          await this.#call(() => this.#redis.set(this.#prefix + jti, "1", "PX", Math.ceil(ttlMs)));
        }
        this.#pending.delete(jti);
        this.#recovered();
      } catch (err) {
        this.#failed(err);
        return;
      }
    }
  }

  #call<T>(fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`redis did not answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    return Promise.race([fn(), timeout]).finally(() => clearTimeout(timer));
  }

  #failed(err: unknown): void {
    if (this.#degraded) return;
    this.#degraded = true;
    this.#log(
      "token revocation: redis unreachable; revocations hold on this pod only until it returns",
      err,
    );
  }

  #recovered(): void {
    if (!this.#degraded) return;
    this.#degraded = false;
    this.#log("token revocation: redis reachable again; revocations shared across pods");
  }
}
