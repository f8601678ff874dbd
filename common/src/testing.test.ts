import assert from "node:assert/strict";
import { test } from "node:test";
import { eventually, eventuallyFound, freePort, GiveUp, WAIT } from "./testing.ts";

test("eventually passes once the assertion stops throwing, and returns its value", async () => {
  let n = 0;
  const v = await eventually(() => {
    n++;
    assert.ok(n >= 3, "not yet");
    return n;
  });
  assert.equal(v, 3);
  assert.equal(await eventually(() => undefined), undefined, "void assertions pass");
});

test("eventually treats false as not yet and fails with the assertion's message", async () => {
  await assert.rejects(
    eventually(() => false, { timeoutMs: 60 }),
    /timed out after 60 ms waiting for the condition/,
  );
  await assert.rejects(
    eventually(() => assert.equal(1, 2, "one is not two"), { timeoutMs: 60 }),
    /one is not two/,
  );
});

test("eventuallyFound waits for a value and names what never came", async () => {
  const items: number[] = [];
  setTimeout(() => items.push(7), 50);
  assert.equal(await eventuallyFound(() => items.find((x) => x === 7)), 7);
  await assert.rejects(
    eventuallyFound(() => undefined, { timeoutMs: 60, what: "the agent to connect" }),
    /timed out after 60 ms waiting for the agent to connect/,
  );
});

test("GiveUp stops polling at once", async () => {
  const started = Date.now();
  await assert.rejects(
    eventually(() => {
      throw new GiveUp("cannot ever hold");
    }),
    /cannot ever hold/,
  );
  // Far below the 10 s default deadline it would otherwise poll until.
  assert.ok(Date.now() - started < WAIT.medium / 2);
});

test("freePort returns a port that can be listened on", async () => {
  const { createServer } = await import("node:net");
  const port = await freePort();
  assert.ok(port > 0 && port < 65_536);
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", resolve);
  });
  await new Promise((r) => srv.close(r));
});
