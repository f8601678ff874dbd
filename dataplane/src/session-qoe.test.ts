import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import type { WebSocket } from "ws";
import { RelayMetrics } from "./metrics.ts";
import { QoeBook } from "./session-qoe.ts";

/** A viewer socket as the book sees it: pings, pongs and an open state. */
function fakeWs() {
  const ws = Object.assign(new EventEmitter(), { OPEN: 1, readyState: 1, pings: 0 });
  return Object.assign(ws, { ping: () => void ws.pings++ }) as unknown as WebSocket & {
    pings: number;
  };
}

const HANDSHAKE = Buffer.from([...Buffer.from("RFB 003.008\n"), 1, 1]);
const REQUEST = Buffer.from([3, 1, 0, 0, 0, 0, 1, 0, 1, 0]);

test("rates per window, round trip from ping to pong, input time", () => {
  let now = 1_000_000;
  const book = new QoeBook(new RelayMetrics("r"), { now: () => now, pingEveryMs: 5_000 });
  const ws = fakeWs();
  const v = book.viewer("s", now, ws);
  now += 300;
  v.clientBytes(HANDSHAKE);
  for (let i = 0; i < 10; i++) v.clientBytes(REQUEST);
  v.serverBytes(20_000);
  now += 1_700;
  book.tick();
  const [s] = book.snapshot();
  assert.equal(s?.framesPerSecond, 5);
  assert.equal(s?.bytesToViewerPerSecond, 10_000);
  assert.equal(s?.timeToFirstFrameMs, 300, "upgrade to the second frame request");
  assert.equal(ws.pings, 1, "pinged on the first tick");
  now += 7;
  ws.emit("pong");
  book.tick();
  assert.equal(book.snapshot()[0]?.rttMs, 7);
  assert.equal(book.snapshot()[0]?.lastInputMs, 0);
  v.clientBytes(Buffer.from([5, 0, 0, 1, 0, 1]));
  assert.equal(book.snapshot()[0]?.lastInputMs, now);
});

test("bounded: a full book forgets the session left longest ago; stale ones go after keepMs", () => {
  let now = 0;
  const book = new QoeBook(new RelayMetrics("r"), {
    now: () => now,
    maxSessions: 2,
    keepMs: 1_000,
  });
  const a = book.viewer("a", now, fakeWs());
  now = 10;
  a.close();
  const b = book.viewer("b", now, fakeWs());
  now = 20;
  b.close();
  book.viewer("c", now, fakeWs());
  assert.deepEqual(
    book
      .snapshot()
      .map((s) => s.sessionId)
      .sort(),
    ["b", "c"],
  );
  now = 2_000;
  book.tick();
  assert.deepEqual(
    book.snapshot().map((s) => s.sessionId),
    ["c"],
    "c still has its viewer",
  );
});

test("with continuous updates, frames are bursts of server bytes, not requests", () => {
  let now = 0;
  const book = new QoeBook(new RelayMetrics("r"), { now: () => now });
  const v = book.viewer("s", now, fakeWs());
  v.clientBytes(HANDSHAKE);
  v.clientBytes(Buffer.from([3, 0, 0, 0, 0, 0, 1, 0, 1, 0]));
  v.clientBytes(Buffer.from([150, 1, 0, 0, 0, 0, 1, 0, 1, 0])); // EnableContinuousUpdates
  for (let f = 0; f < 8; f++) {
    now += 250;
    v.serverBytes(1000); // one frame in two pieces, 1 ms apart
    now += 1;
    v.serverBytes(500);
  }
  now = 2_000;
  book.tick();
  const [s] = book.snapshot();
  assert.equal(s?.framesPerSecond, 4.5, "the requested first frame and 8 bursts, in 2 s");
  assert.equal(s?.timeToFirstFrameMs, 250, "the first frame's bytes");
});
