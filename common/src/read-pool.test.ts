/** The read pool must reuse returned buffers, stay within its bound and give idle memory back. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReadPool } from "./read-pool.ts";

describe("ReadPool", () => {
  it("hands a returned buffer out again instead of allocating", () => {
    const pool = new ReadPool(1024, 4);
    const a = pool.take();
    assert.equal(a.length, 1024);
    pool.give(a);
    assert.equal(pool.take(), a);
  });

  it("keeps at most maxFree idle buffers and refuses foreign sizes", () => {
    const pool = new ReadPool(16, 2);
    for (let i = 0; i < 5; i++) pool.give(Buffer.alloc(16));
    pool.give(Buffer.alloc(8));
    assert.equal(pool.idle, 2);
  });

  it("drops buffers that stayed idle for a whole trim period", () => {
    const pool = new ReadPool(16, 10);
    const bufs = Array.from({ length: 6 }, () => pool.take());
    for (const b of bufs) pool.give(b);
    pool.trim(); // first period: the low-water mark was 0, nothing is dropped
    assert.equal(pool.idle, 6);
    pool.give(pool.take()); // in use again: the low-water mark is now 5
    pool.trim();
    assert.equal(pool.idle, 1);
    pool.trim(); // the last one was idle all period too
    assert.equal(pool.idle, 0);
  });
});
