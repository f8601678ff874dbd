/**
 * The relay's view of the relay set: a static list, or Redis registration with a TTL. On top
 * of the shared ring it keeps a short "suspect" list of peers it just failed to reach, so a
 * viewer whose owner died is served by the next rendezvous choice at once instead of after
 * the TTL; agents do the same when their link drops, so both ends agree on the fallback owner.
 * Suspicion is dropped when a new epoch arrives (the ring then speaks for itself) or after
 * SUSPECT_MS.
 */

import { createRelayRing, type RelayRing, type RingMember } from "@streamspace/common/relay-ring";

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

/** Adds the suspect list to any ring source; shared by the static and the Redis membership. */
export function withSuspects(self: RingMember, getRing: () => RelayRing) {
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
