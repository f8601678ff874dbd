/**
 * The live relay ring from Redis, where relays register themselves with a TTL
 * ("@streamspace/common/relay-membership" owns the key layout and the epoch). The gateway
 * reads current() for Welcome and subscribes to push RingUpdate; subscribers are called only
 * when the epoch grows, so agents never see a stale or repeated ring.
 */
import { readRelayRing, watchRelayRing } from "@streamspace/common/relay-membership";
import { Redis } from "ioredis";
import type { RelayRingSnapshot } from "../gateway/relay-ring-source.ts";
import type { ClosableRelayRingSource } from "./static-relay-ring-source.ts";

/** Options; pollMs bounds how long an expired relay stays in the ring after its TTL. */
export interface RedisRelayRingSourceOptions {
  url: string;
  prefix?: string;
  pollMs?: number;
  onError?(err: unknown): void;
}

/** Connects, reads the ring once (so current() is meaningful at once), then watches it. */
export async function createRedisRelayRingSource(
  opts: RedisRelayRingSourceOptions,
): Promise<ClosableRelayRingSource> {
  const redis = new Redis(opts.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const sub = new Redis(opts.url, { lazyConnect: true });
  const onError = opts.onError ?? (() => {});
  redis.on("error", () => {});
  sub.on("error", () => {});
  await Promise.all([redis.connect(), sub.connect()]);
  let snapshot: RelayRingSnapshot = { epoch: 0n, members: [] };
  try {
    const first = await readRelayRing(redis, opts.prefix);
    snapshot = { epoch: first.epoch, members: [...first.members] };
  } catch (err) {
    onError(err);
  }
  const listeners = new Set<(ring: RelayRingSnapshot) => void>();
  const stop = watchRelayRing({
    redis,
    subscriber: sub,
    pollMs: opts.pollMs ?? 500,
    prefix: opts.prefix,
    onError,
    onRing(ring) {
      if (ring.epoch <= snapshot.epoch) return;
      snapshot = { epoch: ring.epoch, members: [...ring.members] };
      for (const fn of listeners) {
        try {
          fn(snapshot);
        } catch (err) {
          onError(err);
        }
      }
    },
  });
  return {
    current: () => snapshot,
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    async close() {
      stop();
      listeners.clear();
      redis.disconnect();
      sub.disconnect();
    },
  };
}
