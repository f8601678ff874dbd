/**
 * LeaseBackend on Redis: the lease is one key whose value is the holder and whose TTL is the
 * lease. Acquire is `SET key holder NX PX ttl` (atomic create-if-absent; Redis expires it, so
 * no clock comparison across machines). Renew and release are Lua scripts that compare the
 * holder before touching the key, so a replica can never extend or delete a lease it lost.
 */
import { Redis } from "ioredis";
import type { LeaseBackend } from "./lease-backend.ts";

const RENEW = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

/** Lease `key` (LEASE_KEY; default `streamspace:agent-lease:<agentId>`) in the given Redis. */
export class RedisLeaseBackend implements LeaseBackend {
  private readonly redis: Redis;
  private readonly key: string;

  constructor(url: string, agentId: string, key = `streamspace:agent-lease:${agentId}`) {
    // Fail fast: a lease call that waits for a reconnect is worth less than a quick "no".
    this.redis = new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: false,
      connectTimeout: 2_000,
    });
    this.redis.on("error", () => {}); // surfaced per call; the elector logs them
    this.key = key;
  }

  async acquireOrRenew(holder: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.round(ttlMs));
    if ((await this.redis.set(this.key, holder, "PX", ttl, "NX")) === "OK") return true;
    return (await this.redis.eval(RENEW, 1, this.key, holder, ttl)) === 1;
  }

  async release(holder: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, holder);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
