/**
 * Which relay owns a session. Relays, agents and the control plane import this one module
 * ("@streamspace/common/relay-ring") so every process computes the same owner from the same
 * `{epoch, members}` — a disagreement would send a viewer and its agent to different relays.
 *
 * Rendezvous (highest-random-weight) hashing, chosen by measurement (bench/relay/ring-compare.ts,
 * numbers in dataplane/README.md): with tens of relays it balances as well as a ring with 160
 * virtual nodes or Maglev, moves exactly the removed member's share on removal and only 1/(n+1)
 * on addition, needs no table rebuild, and its ranked order gives every session a natural
 * fallback owner when the first choice is suspected dead.
 */

/** One relay as the ring knows it: a stable id and the base URL peers and agents dial. */
export interface RingMember {
  id: string;
  url: string;
}

/** A versioned member set; the epoch lets receivers drop stale updates. */
export interface RingSnapshot {
  epoch: bigint;
  members: readonly RingMember[];
}

/** FNV-1a over UTF-16 code units, then murmur3's finaliser: cheap and well mixed for ids. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3 fmix32: a bijection with full avalanche, so xor-combined hashes stay uniform. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A lookup structure over one snapshot; rebuilt (cheaply) on every membership change. */
export interface RelayRing {
  readonly epoch: bigint;
  readonly members: readonly RingMember[];
  /** The owner of a session, or undefined when the ring is empty. */
  owner(sessionId: string): RingMember | undefined;
  /** The owner when the members in `exclude` are unreachable: the next rendezvous choice. */
  ownerExcluding(sessionId: string, exclude: ReadonlySet<string>): RingMember | undefined;
  byId(id: string): RingMember | undefined;
}

/** Builds the rendezvous ring; members are de-duplicated by id (last URL wins). */
export function createRelayRing(snapshot: RingSnapshot): RelayRing {
  const byId = new Map<string, RingMember>();
  for (const m of snapshot.members) byId.set(m.id, { id: m.id, url: m.url });
  const members = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const seeds = Uint32Array.from(members.map((m) => hashString(m.id, 0x9747b28c)));
  const pick = (sessionId: string, exclude?: ReadonlySet<string>) => {
    const key = hashString(sessionId);
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < members.length; i++) {
      if (exclude?.has(members[i]!.id)) continue;
      const score = fmix32(key ^ seeds[i]!);
      // Ties are astronomically rare; break them by position so every process agrees.
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best < 0 ? undefined : members[best];
  };
  return {
    epoch: snapshot.epoch,
    members,
    owner: (sessionId) => pick(sessionId),
    ownerExcluding: (sessionId, exclude) => pick(sessionId, exclude.size ? exclude : undefined),
    byId: (id) => byId.get(id),
  };
}
