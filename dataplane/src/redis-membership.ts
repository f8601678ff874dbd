/**
 * Relay membership through Redis: this relay registers itself with a TTL and watches the set
 * (the key layout and epoch live in @streamspace/common/relay-membership). The static list and
 * the suspect logic are in membership.ts; both backends pass membership-cases.ts.
 */
import { heartbeatRelay, leaveRelay, watchRelayRing } from "@streamspace/common/relay-membership";
import {
  createRelayRing,
  type RingMember,
  type RingSnapshot,
} from "@streamspace/common/relay-ring";
import { Redis } from "ioredis";
import { type Membership, withSuspects } from "./membership.ts";

/**
 * Registers this relay in Redis every ttlMs/3 and watches the set. If Redis is unreachable the
 * last ring stays in force (routing keeps working; the TTL will eventually drop us elsewhere).
 */
export async function redisMembership(opts: {
  self: RingMember;
  url: string;
  ttlMs: number;
  prefix?: string;
  onError(err: unknown): void;
  onRing?(ring: RingSnapshot): void;
}): Promise<Membership> {
  const redis = new Redis(opts.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  const sub = new Redis(opts.url, { lazyConnect: true });
  redis.on("error", () => {});
  sub.on("error", () => {});
  await Promise.all([redis.connect(), sub.connect()]);
  let ring = createRelayRing({ epoch: 0n, members: [opts.self] });
  let registered = false;
  const apply = (snap: RingSnapshot) => {
    if (snap.epoch < ring.epoch) return;
    const changed = snap.epoch !== ring.epoch;
    ring = createRelayRing(snap);
    registered = ring.byId(opts.self.id) !== undefined;
    if (changed) opts.onRing?.(snap);
  };
  const beat = async () => {
    try {
      apply(await heartbeatRelay(redis, opts.self, opts.ttlMs, opts.prefix));
    } catch (err) {
      opts.onError(err);
    }
  };
  await beat();
  const timer = setInterval(beat, Math.max(100, Math.floor(opts.ttlMs / 3)));
  const stopWatch = watchRelayRing({
    redis,
    subscriber: sub,
    pollMs: Math.max(100, Math.floor(opts.ttlMs / 4)),
    prefix: opts.prefix,
    onRing: apply,
    onError: opts.onError,
  });
  const s = withSuspects(opts.self, () => ring);
  return {
    ring: () => ring,
    owner: s.owner,
    suspect: s.suspect,
    ready: () => registered,
    async close() {
      clearInterval(timer);
      stopWatch();
      try {
        await leaveRelay(redis, opts.self.id, opts.prefix);
      } catch (err) {
        opts.onError(err);
      }
      redis.disconnect();
      sub.disconnect();
    },
  };
}
