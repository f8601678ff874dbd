import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BoundedQueue } from "./bounded-queue.ts";

describe("BoundedQueue", () => {
  test("refuses past capacity and hands back what was never consumed", async () => {
    const q = new BoundedQueue<number>(2);
    assert.ok(q.push(1));
    assert.ok(q.push(2));
    assert.equal(q.push(3), false);
    assert.equal(q.size, 2);
    const it = q[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: 1, done: false });
    assert.deepEqual(q.takeAll(), [2]);
    q.close();
    assert.equal((await it.next()).done, true);
    assert.equal(q.push(4), false, "closed queues refuse");
  });

  test("capacity must be a positive integer", () => {
    assert.throws(() => new BoundedQueue(0), /positive integer/);
    assert.throws(() => new BoundedQueue(1.5), /positive integer/);
  });

  test("a waiting consumer receives pushes in order; falsy items are items", async () => {
    const q = new BoundedQueue<number>(1);
    const got: number[] = [];
    const done = (async () => {
      for await (const n of q) got.push(n);
    })();
    await new Promise((r) => setImmediate(r));
    assert.ok(q.push(0));
    await new Promise((r) => setImmediate(r));
    assert.ok(q.push(1));
    q.close();
    await done;
    assert.deepEqual(got, [0, 1]);
  });

  test("close drains queued items before iteration ends", async () => {
    const q = new BoundedQueue<string>(10);
    q.push("a");
    q.push("b");
    q.close();
    assert.ok(q.closed);
    const got: string[] = [];
    for await (const s of q) got.push(s);
    assert.deepEqual(got, ["a", "b"]);
  });

  test("close wakes a waiting consumer", async () => {
    const q = new BoundedQueue<string>(10);
    const it = q[Symbol.asyncIterator]();
    const pending = it.next();
    q.close();
    assert.deepEqual(await pending, { value: undefined, done: true });
  });

  test("fail drops queued items and makes the consumer's read throw", async () => {
    const q = new BoundedQueue<string>(10);
    q.push("lost");
    q.fail(new Error("cut"));
    assert.ok(q.closed);
    assert.equal(q.push("x"), false);
    await assert.rejects(q[Symbol.asyncIterator]().next(), /cut/);
    assert.deepEqual(q.takeAll(), []);
  });

  test("fail rejects a waiting consumer, also after close", async () => {
    const q = new BoundedQueue<string>(10);
    const it = q[Symbol.asyncIterator]();
    q.push("a");
    q.close();
    q.fail(new Error("revoked"));
    await assert.rejects(it.next(), /revoked/);
    const q2 = new BoundedQueue<string>(10);
    const pending = q2[Symbol.asyncIterator]().next();
    q2.fail(new Error("timeout"));
    await assert.rejects(pending, /timeout/);
  });

  test("a consumer that stops iterating closes the queue but keeps what it left", async () => {
    const q = new BoundedQueue<number>(10);
    q.push(1);
    q.push(2);
    q.push(3);
    for await (const n of q) if (n === 1) break;
    assert.ok(q.closed);
    assert.equal(q.push(4), false, "producers learn the stream is gone");
    assert.deepEqual(q.takeAll(), [2, 3]);
  });

  test("throw() on its iterator closes the queue and rethrows, as connect-es aborts a stream", async () => {
    const q = new BoundedQueue<number>(10);
    q.push(1);
    const it = q[Symbol.asyncIterator]();
    assert.equal(typeof it.throw, "function");
    await assert.rejects(it.throw?.(new Error("aborted")) ?? Promise.resolve(), /aborted/);
    assert.ok(q.closed);
    assert.equal(q.push(2), false);
    assert.deepEqual(q.takeAll(), [1]);
  });
});
