import assert from "node:assert/strict";
import { test } from "node:test";
import { RfbClientScanner } from "./rfb-client-scan.ts";

function msg(...parts: (number[] | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
}

const u16 = (n: number) => [n >> 8, n & 255];
const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

/** A viewer's whole client half: handshake, then one of every message noVNC may send. */
function session(securityType = 1): Buffer {
  const cut = Buffer.from("hello clipboard");
  return msg(
    Buffer.from("RFB 003.008\n"),
    [securityType],
    securityType === 2 ? Buffer.alloc(16, 7) : [],
    [1], // ClientInit
    [0, 0, 0, 0, ...new Array(16).fill(1)], // SetPixelFormat
    [2, 0, ...u16(3), ...u32(0), ...u32(-223 >>> 0), ...u32(-308 >>> 0)], // SetEncodings
    [3, 0, ...u16(0), ...u16(0), ...u16(800), ...u16(600)], // full FramebufferUpdateRequest
    [248, 0, 0, 0, ...u32(1), 3, 9, 9, 9], // Fence with 3 payload bytes
    [150, 1, ...u16(0), ...u16(0), ...u16(800), ...u16(600)], // EnableContinuousUpdates
    [251, 0, ...u16(1024), ...u16(768), 1, 0, ...new Array(16).fill(0)], // SetDesktopSize
    [4, 1, 0, 0, ...u32(0x61)], // KeyEvent 'a'
    [5, 1, ...u16(10), ...u16(20)], // PointerEvent
    [6, 0, 0, 0, ...u32(cut.length)],
    cut, // ClientCutText
    [255, 0, 0, 1, ...u32(0x61), ...u32(30)], // QEMU extended key event
    [3, 1, ...u16(0), ...u16(0), ...u16(800), ...u16(600)], // incremental request
  );
}

function scanInPieces(bytes: Buffer, piece: number) {
  const seen: string[] = [];
  const s = new RfbClientScanner({
    input: (k) => seen.push(k),
    frameRequest: (inc) => seen.push(inc ? "frame+" : "frame"),
    continuousUpdates: (on) => seen.push(on ? "continuous" : "requests"),
  });
  for (let i = 0; i < bytes.length; i += piece) s.push(bytes.subarray(i, i + piece));
  return { seen, lost: s.lostSync };
}

const EXPECTED = ["frame", "continuous", "key", "pointer", "clipboard", "key", "frame+"];

test("classifies every client message, whatever the chunking", () => {
  const bytes = session();
  for (const piece of [1, 2, 3, 5, 7, 13, bytes.length]) {
    const r = scanInPieces(bytes, piece);
    assert.deepEqual(r.seen, EXPECTED, `pieces of ${piece}`);
    assert.equal(r.lost, false);
  }
});

test("follows a VNC-auth handshake (16-byte response)", () => {
  const r = scanInPieces(session(2), 4);
  assert.deepEqual(r.seen, EXPECTED);
});

test("RFB 3.3 has no security choice byte", () => {
  const bytes = msg(Buffer.from("RFB 003.003\n"), [1], [4, 1, 0, 0, ...u32(0x62)]);
  assert.deepEqual(scanInPieces(bytes, 1).seen, ["key"]);
});

test("an unknown message type makes every later byte count as input", () => {
  const seen: string[] = [];
  const s = new RfbClientScanner({ input: (k) => seen.push(k), frameRequest: () => {} });
  s.push(msg(Buffer.from("RFB 003.008\n"), [1, 1], [77]));
  assert.equal(s.lostSync, true);
  s.push(Buffer.from([3, 0, 0, 0]));
  s.push(Buffer.from([9]));
  assert.deepEqual(seen, ["other", "other"]);
});

test("a security type it cannot follow (TLS) loses sync instead of guessing", () => {
  const r = scanInPieces(msg(Buffer.from("RFB 003.008\n"), [18], [1, 2, 3]), 1);
  assert.equal(r.lost, true);
  assert.ok(r.seen.every((k) => k === "other"));
});

test("a garbage version line loses sync", () => {
  assert.equal(scanInPieces(Buffer.from("GET / HTTP/1.1\r\n\r\n"), 4).lost, true);
});
