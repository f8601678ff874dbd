/**
 * The relay's view of the relay set: a static list, or Redis registration with a TTL. On top
 * of the shared ring it keeps a short "suspect" list of peers it just failed to reach, so a
 * viewer whose owner died is served by the next rendezvous choice at once instead of after
 * the TTL; agents do the same when their link drops, so both ends agree on the fallback owner.
 * Suspicion is dropped when a new epoch arrives (the ring then speaks for itself) or after
 * SUSPECT_MS.
 */

import { heartbeatRelay, leaveRelay, watchRelayRing } from "@streamspace/common/relay-membership";
import {
  createRelayRing,
  type RelayRing,
  type RingMember,
  type RingSnapshot,
} from "@streamspace/common/relay-ring";
import { Redis } from "ioredis";

/** How long an unreachable peer is routed around without a new epoch. */
export const SUSPECT_MS = 10_000;

/** What the relay needs from membership. */
export interface Membership {
  ring(): RelayRing;
  /** The owner for a session, skipping suspected peers. */
  owner(sessionId: string): RingMember | undefined;
  suspect(id: string): void;
  /** True once the relay is in the set it routes by (readiness). */
  ready(): boolean;
  close(): Promise<void>;
}

function withSuspects(self: RingMember, getRing: () => RelayRing) {
  const suspects = new Map<string, number>();
  let seenEpoch = -1n;
  const live = (): ReadonlySet<string> => {
    const ring = getRing();
    if (ring.epoch !== seenEpoch) {
      seenEpoch = ring.epoch;
      suspects.clear();
    }
    const now = Date.now();
    for (const [id, until] of suspects) if (until < now) suspects.delete(id);
    return new Set(suspects.keys());
  };
  return {
    owner(sessionId: string) {
      const ex = live();
      return ex.size ? getRing().ownerExcluding(sessionId, ex) : getRing().owner(sessionId);
    },
    suspect(id: string) {
      live();
      if (id !== self.id) suspects.set(id, Date.now() + SUSPECT_MS);
    },
  };
}

/** A fixed member list (one node, or a hand-written cluster); epoch 1 forever. */
export function staticMembership(self: RingMember, members: RingMember[]): Membership {
  const all = members.some((m) => m.id === self.id) ? members : [...members, self];
  const ring = createRelayRing({ epoch: 1n, members: all });
  const s = withSuspects(self, () => ring);
  return {
    ring: () => ring,
    owner: s.owner,
    suspect: s.suspect,
    ready: () => true,
    close: async () => {},
  };
}

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

/** Parses RELAY_STATIC_MEMBERS: "id=url,id=url". */
export function parseStaticMembers(value: string): RingMember[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq <= 0)
        throw new Error(`RELAY_STATIC_MEMBERS entry "${pair}" must look like id=http://host:port`);
      const url = pair.slice(eq + 1);
      new URL(url);
      return { id: pair.slice(0, eq), url };
    });
}
