import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runBulk } from "./bulk-run.ts";

describe("runBulk", () => {
  it("runs every item once with at most `concurrency` in flight and reports progress", async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const progress: number[] = [];
    const r = await runBulk(
      [1, 2, 3, 4, 5, 6, 7],
      async (n) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((res) => setImmediate(res));
        seen.push(n);
        inFlight--;
      },
      { concurrency: 3, onProgress: (f) => progress.push(f) },
    );
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(peak, 3);
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6, 7]);
    assert.equal(r.done.length, 7);
    assert.deepEqual(r.failed, []);
  });

  it("retries rate-limited items after the named wait and keeps other failures", async () => {
    const limited = new Error("slow down");
    const broken = new Error("is stopped");
    const tries = new Map<string, number>();
    const waits: number[] = [];
    const r = await runBulk(
      ["a", "b", "c"],
      async (id) => {
        const n = (tries.get(id) ?? 0) + 1;
        tries.set(id, n);
        if (id === "a" && n < 3) throw limited;
        if (id === "b") throw broken;
      },
      {
        retryAfterMs: (e) => (e === limited ? 700 : undefined),
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    );
    assert.deepEqual(r.done.sort(), ["a", "c"]);
    assert.deepEqual(r.failed, [{ item: "b", error: broken }]);
    assert.equal(tries.get("a"), 3);
    assert.deepEqual(waits, [700, 700]);
  });

  it("gives up on an item that stays rate-limited past maxRetries", async () => {
    const limited = new Error("slow down");
    const r = await runBulk(
      ["x"],
      async () => {
        throw limited;
      },
      { retryAfterMs: () => 0, maxRetries: 2, sleep: async () => {} },
    );
    assert.deepEqual(r.failed, [{ item: "x", error: limited }]);
  });
});
