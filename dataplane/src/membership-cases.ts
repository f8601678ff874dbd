/**
 * The behaviour every relay membership backend shares (static list, Redis registration), run
 * against each by membership.test.ts, so routing cannot drift between a one-node relay and a
 * cluster: the ring holds this relay and its peers, owners agree with the ring, a suspected
 * peer is routed around (never this relay itself), and close() ends the membership.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { RingMember } from "@streamspace/common/relay-ring";
import type { Membership } from "./membership.ts";

/** Builds a membership for `self` that already knows `peers`; the test closes it. */
export type MakeMembership = (self: RingMember, peers: RingMember[]) => Promise<Membership>;

const SELF: RingMember = { id: "relay-self", url: "http://127.0.0.1:1" };
const PEERS: RingMember[] = [
  { id: "relay-b", url: "http://127.0.0.1:2" },
  { id: "relay-c", url: "http://127.0.0.1:3" },
];
const SESSIONS = Array.from(
  { length: 200 },
  (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
);

/** Registers the shared cases with node:test for one backend. */
export function runMembershipCases(make: MakeMembership): void {
  it("is ready with this relay and its peers in the ring", async (t) => {
    const m = await make(SELF, PEERS);
    t.after(() => m.close());
    assert.equal(m.ready(), true);
    const ids = m
      .ring()
      .members.map((x) => x.id)
      .sort();
    assert.deepEqual(ids, [SELF.id, ...PEERS.map((p) => p.id)].sort());
  });

  it("names the ring's owner for every session, spread over all members", async (t) => {
    const m = await make(SELF, PEERS);
    t.after(() => m.close());
    const owners = new Set<string>();
    for (const s of SESSIONS) {
      const owner = m.owner(s);
      assert.equal(owner?.id, m.ring().owner(s)?.id);
      if (owner) owners.add(owner.id);
    }
    assert.equal(owners.size, 3, "200 sessions land on each of the 3 relays");
  });

  it("routes around a suspected peer and never suspects itself", async (t) => {
    const m = await make(SELF, PEERS);
    t.after(() => m.close());
    const peer = PEERS[0] as RingMember;
    const owned = SESSIONS.filter((s) => m.owner(s)?.id === peer.id);
    const mine = SESSIONS.filter((s) => m.owner(s)?.id === SELF.id);
    assert.ok(owned.length > 0 && mine.length > 0);
    m.suspect(peer.id);
    for (const s of owned) assert.notEqual(m.owner(s)?.id, peer.id);
    m.suspect(SELF.id);
    for (const s of mine)
      assert.equal(m.owner(s)?.id, SELF.id, "a relay never routes around itself");
  });

  it("closes cleanly, twice", async () => {
    const m = await make(SELF, PEERS);
    await m.close();
    await m.close();
  });
}
