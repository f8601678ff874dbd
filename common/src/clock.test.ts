import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sleep, systemClock } from "./clock.ts";
import { ManualClock } from "./manual-clock.ts";

describe("clock", () => {
  test("systemClock reads wall time and its timers fire and cancel", async () => {
    // systemClock's timers are unref'd: something else must keep this test's loop alive.
    const keepAlive = setTimeout(() => {}, 10_000);
    const before = Date.now();
    assert.ok(systemClock.now() >= before);
    let fired = 0;
    const cancelled = systemClock.setTimeout(() => fired++, 1);
    systemClock.clearTimeout(cancelled);
    await new Promise<void>((r) => systemClock.setTimeout(r, 5));
    clearTimeout(keepAlive);
    assert.equal(fired, 0);
  });

  test("sleep resolves when the clock reaches the deadline", async () => {
    const clock = new ManualClock();
    let done = false;
    const p = sleep(clock, 1_000).then(() => {
      done = true;
    });
    await clock.advance(999);
    assert.equal(done, false);
    await clock.advance(1);
    await p;
    assert.equal(done, true);
  });

  test("sleep rejects with the abort reason and leaves no timer behind", async () => {
    const clock = new ManualClock();
    const ac = new AbortController();
    const p = sleep(clock, 60_000, ac.signal);
    ac.abort(new Error("stopping"));
    await assert.rejects(p, /stopping/);
    assert.equal(clock.pending, 0);
    await assert.rejects(sleep(clock, 1, ac.signal), /stopping/, "already aborted");
  });
});

describe("ManualClock", () => {
  test("fires due timers in time order, ties in scheduling order", async () => {
    const clock = new ManualClock(0);
    const order: string[] = [];
    clock.setTimeout(() => order.push("b"), 20);
    clock.setTimeout(() => order.push("a"), 10);
    clock.setTimeout(() => order.push("c"), 20);
    await clock.advance(15);
    assert.deepEqual(order, ["a"]);
    assert.equal(clock.now(), 15);
    await clock.advance(100);
    assert.deepEqual(order, ["a", "b", "c"]);
  });

  test("a timer scheduled by a firing timer fires within the same advance", async () => {
    const clock = new ManualClock(0);
    const at: number[] = [];
    const beat = () => {
      at.push(clock.now());
      if (at.length < 3) clock.setTimeout(beat, 100);
    };
    clock.setTimeout(beat, 100);
    await clock.advance(1_000);
    assert.deepEqual(at, [100, 200, 300]);
  });

  test("work a timer starts asynchronously has settled before time moves on", async () => {
    const clock = new ManualClock(0);
    let seen = 0;
    clock.setTimeout(async () => {
      await Promise.resolve();
      await Promise.resolve();
      seen = clock.now();
    }, 50);
    await clock.advance(50);
    assert.equal(seen, 50);
  });
});
