import assert from "node:assert/strict";
import { test } from "node:test";
import { formatRate, ViewerMeter } from "./viewer-meter.ts";

/** The part of a browser WebSocket the meter touches; the test drives both directions. */
function fakeSocket() {
  const sent: Uint8Array[] = [];
  const listeners: Array<(e: { data: ArrayBuffer }) => void> = [];
  const ws = {
    send: (d: Uint8Array) => void sent.push(d),
    addEventListener: (_: string, fn: (e: { data: ArrayBuffer }) => void) => listeners.push(fn),
  };
  return {
    ws,
    sent,
    receive: (n: number) => {
      for (const fn of listeners) fn({ data: new ArrayBuffer(n) });
    },
  };
}

const request = (incremental: boolean) =>
  new Uint8Array([3, incremental ? 1 : 0, 0, 0, 0, 0, 1, 0, 1, 0]);

test("counts frames, bytes, first frame and local input from what noVNC sends", () => {
  const m = new ViewerMeter();
  const s = fakeSocket();
  m.attach(s.ws as unknown as WebSocket, performance.now());
  s.ws.send(new Uint8Array([...Buffer.from("RFB 003.008\n"), 1, 1]));
  s.receive(1000);
  s.ws.send(request(false));
  assert.equal(m.sample().timeToFirstFrameMs, 0, "no frame drawn yet");
  s.ws.send(request(true));
  const f = m.sample();
  assert.ok(f.timeToFirstFrameMs >= 0);
  assert.equal(m.lastInputMs, 0, "frame requests are not input");
  const before = Date.now();
  s.ws.send(new Uint8Array([4, 1, 0, 0, 0, 0, 0, 0x61]));
  assert.ok(m.lastInputMs >= before, "a key is input");
  assert.equal(s.sent.length, 4, "every message still reaches the socket");
});

test("rates read short", () => {
  assert.equal(formatRate(640), "640 B/s");
  assert.equal(formatRate(12_300), "12.3 kB/s");
  assert.equal(formatRate(2_500_000), "2.5 MB/s");
});

test("frames drawn by noVNC replace request counting (continuous updates send no requests)", () => {
  const m = new ViewerMeter();
  const s = fakeSocket();
  m.attach(s.ws as unknown as WebSocket, performance.now());
  s.ws.send(new Uint8Array([...Buffer.from("RFB 003.008\n"), 1, 1]));
  s.ws.send(request(false));
  m.frameDrawn();
  assert.ok(m.sample().timeToFirstFrameMs >= 1, "the first drawn frame");
  for (let i = 0; i < 5; i++) m.frameDrawn();
  s.ws.send(request(true));
  s.ws.send(request(true));
  assert.ok(m.sample().framesPerSecond > 0);
});
