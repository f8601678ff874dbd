/**
 * The shared behaviour suite every RevocationStore passes (memory and Redis), so a pod without
 * Redis and a pod with it refuse the same tokens.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { manualClock } from "./auth-test-kit.ts";
import type { RevocationStore } from "./revocation-store.ts";

/** Registers the suite; `make` gets the clock the store must read. */
export function runRevocationCases(
  name: string,
  make: (now: () => number) => Promise<RevocationStore & Partial<AsyncDisposable>>,
) {
  describe(`${name} revocation store`, () => {
    it("remembers a revoked id until the token's expiry", async () => {
      const clock = manualClock();
      const store = await make(clock.now);
      try {
        await store.revoke("jti-a", new Date(clock.now() + 60_000));
        assert.equal(await store.isRevoked("jti-a"), true);
        assert.equal(await store.isRevoked("jti-b"), false);
      } finally {
        await store[Symbol.asyncDispose]?.();
      }
    });

    it("ignores revocations of already expired tokens", async () => {
      const clock = manualClock();
      const store = await make(clock.now);
      try {
        await store.revoke("jti-old", new Date(clock.now() - 1));
        assert.equal(await store.isRevoked("jti-old"), false);
      } finally {
        await store[Symbol.asyncDispose]?.();
      }
    });
  });
}
