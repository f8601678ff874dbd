import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { manualClock } from "./auth-test-kit.ts";
import { MemoryRevocationStore } from "./revocation-store.ts";
import { runRevocationCases } from "./revocation-store-cases.ts";

runRevocationCases("memory", async (now) => new MemoryRevocationStore({ now }));

describe("memory revocation store bounds", () => {
  it("forgets expired entries and stays under its bound", async () => {
    const clock = manualClock();
    const store = new MemoryRevocationStore({ now: clock.now, maxEntries: 10 });
    for (let i = 0; i < 25; i++) await store.revoke(`j${i}`, new Date(clock.now() + 1000 + i));
    assert.ok(store.size <= 10);
    // The newest-expiring entries survive eviction.
    assert.equal(await store.isRevoked("j24"), true);
    clock.advance(5000);
    assert.equal(await store.isRevoked("j24"), false);
  });
});
