import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { BoundedQueue } from "@streamspace/common/bounded-queue";
import { CommandResultSchema } from "@streamspace/proto/streamspace/agent/v1/agent_gateway_pb";
import { fullJitterDelay } from "./backoff.ts";
import { CompletedCommands } from "./completed-commands.ts";

describe("runtime parts", () => {
  test("full jitter stays within [0, min(cap, base·2^n))", () => {
    const p = { initialMs: 100, maxMs: 5000 };
    assert.equal(
      fullJitterDelay(p, 0, () => 0.999),
      99,
    );
    assert.equal(
      fullJitterDelay(p, 3, () => 0.5),
      400,
    );
    assert.equal(
      fullJitterDelay(p, 50, () => 0.999),
      4995,
    );
    assert.equal(
      fullJitterDelay(p, 5, () => 0),
      0,
    );
  });

  test("bounded queue refuses past capacity and hands back what was never consumed", async () => {
    const q = new BoundedQueue<number>(2);
    assert.ok(q.push(1));
    assert.ok(q.push(2));
    assert.equal(q.push(3), false);
    const it = q[Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: 1, done: false });
    assert.deepEqual(q.takeAll(), [2]);
    q.close();
    assert.equal((await it.next()).done, true);
    assert.equal(q.push(4), false, "closed queues refuse");
    assert.throws(() => new BoundedQueue(0), /positive integer/);
  });

  test("completed commands evict the least recently used", () => {
    const c = new CompletedCommands(2);
    const r = (id: string) => create(CommandResultSchema, { commandId: id, success: true });
    c.set("a", r("a"));
    c.set("b", r("b"));
    c.get("a");
    c.set("c", r("c"));
    assert.equal(c.get("b"), undefined);
    assert.equal(c.get("a")?.commandId, "a");
    assert.deepEqual(c.recentIds(10), ["c", "a"]);
  });
});
