/** The shared ownership function: deterministic, balanced, minimal movement, sane fallback. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRelayRing, type RingMember } from "./relay-ring.ts";

const members = (n: number): RingMember[] =>
  Array.from({ length: n }, (_, i) => ({ id: `r${i}`, url: `http://h:${i}` }));
const sessions = Array.from({ length: 20_000 }, (_, i) => `s-${i}`);

describe("rendezvous ring", () => {
  it("is independent of member order and de-duplicates ids", () => {
    const a = createRelayRing({ epoch: 1n, members: members(5) });
    const b = createRelayRing({ epoch: 1n, members: [...members(5)].reverse().concat(members(1)) });
    assert.equal(b.members.length, 5);
    for (const s of sessions.slice(0, 500)) assert.equal(a.owner(s)!.id, b.owner(s)!.id);
  });

  it("balances within 10% of the mean for 3 relays", () => {
    const r = createRelayRing({ epoch: 1n, members: members(3) });
    const counts = new Map<string, number>();
    for (const s of sessions) counts.set(r.owner(s)!.id, (counts.get(r.owner(s)!.id) ?? 0) + 1);
    for (const c of counts.values())
      assert.ok(Math.abs(c - sessions.length / 3) < sessions.length / 30, String(c));
  });

  it("moves only the sessions of a removed relay, and only to-be-owned sessions on add", () => {
    const three = createRelayRing({ epoch: 1n, members: members(3) });
    const two = createRelayRing({ epoch: 2n, members: members(3).filter((m) => m.id !== "r1") });
    const four = createRelayRing({ epoch: 3n, members: members(4) });
    for (const s of sessions) {
      const before = three.owner(s)!.id;
      if (before !== "r1") assert.equal(two.owner(s)!.id, before);
      const after = four.owner(s)!.id;
      if (after !== "r3") assert.equal(after, before);
    }
  });

  it("falls back to the owner the smaller ring would pick", () => {
    const three = createRelayRing({ epoch: 1n, members: members(3) });
    const two = createRelayRing({ epoch: 2n, members: members(3).filter((m) => m.id !== "r2") });
    for (const s of sessions.slice(0, 2000))
      assert.equal(three.ownerExcluding(s, new Set(["r2"]))!.id, two.owner(s)!.id);
  });

  it("returns undefined on an empty ring", () => {
    const r = createRelayRing({ epoch: 0n, members: [] });
    assert.equal(r.owner("x"), undefined);
    assert.equal(
      createRelayRing({ epoch: 1n, members: members(1) }).ownerExcluding("x", new Set(["r0"])),
      undefined,
    );
  });
});
