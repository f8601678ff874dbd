/**
 * The behaviour suite both relay ring sources pass (static list and Redis membership): what the
 * gateway relies on when it builds Welcome and forwards RingUpdate. Changes over time (join,
 * expiry, leave) only exist for Redis and are tested beside it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RelayRingMember } from "../gateway/relay-ring-source.ts";
import type { ClosableRelayRingSource } from "./static-relay-ring-source.ts";

/** Registers the suite; `make` returns a source whose live set is exactly `members`. */
export function runRelayRingSourceCases(
  name: string,
  make: (members: RelayRingMember[]) => Promise<ClosableRelayRingSource>,
): void {
  describe(`RelayRingSource behaviour: ${name}`, () => {
    test("current() names exactly the live relays, with their URLs and a positive epoch", async () => {
      const members = [
        { id: "r1", url: "http://127.0.0.1:18081" },
        { id: "r2", url: "http://127.0.0.1:18082" },
      ];
      const src = await make(members);
      try {
        const ring = src.current();
        assert.deepEqual(ring.members, members);
        assert.ok(ring.epoch > 0n, `epoch ${ring.epoch}`);
        // Reading twice without a change gives the same ring.
        assert.deepEqual(src.current(), ring);
      } finally {
        await src.close();
      }
    });

    test("no relays is an empty ring, not an error", async () => {
      const src = await make([]);
      try {
        assert.deepEqual(src.current().members, []);
        assert.ok(src.current().epoch >= 0n);
      } finally {
        await src.close();
      }
    });

    test("subscribe hands back an unsubscribe that may be called twice; close resolves", async () => {
      const src = await make([{ id: "r1", url: "http://127.0.0.1:18081" }]);
      const seen: bigint[] = [];
      const unsubscribe = src.subscribe((r) => seen.push(r.epoch));
      unsubscribe();
      unsubscribe();
      await src.close();
      // Whatever arrived before unsubscribing came in epoch order.
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!);
    });
  });
}
