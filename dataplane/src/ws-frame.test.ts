/** Raw binary frames written beside ws must arrive as single, intact messages, in order. */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import { binaryFrameHeader, rawSocketOf, sendPieces } from "./ws-frame.ts";

async function pair() {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once("listening", r));
  const { port } = wss.address() as AddressInfo;
  const serverSide = new Promise<WebSocket>((r) => wss.once("connection", r));
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await new Promise((r) => client.once("open", r));
  const server = await serverSide;
  return {
    server,
    client,
    close: async () => {
      client.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

describe("ws-frame", () => {
  it("encodes the three payload length forms", () => {
    assert.deepEqual([...binaryFrameHeader(125)], [0x82, 125]);
    assert.deepEqual([...binaryFrameHeader(126)], [0x82, 126, 0, 126]);
    assert.deepEqual([...binaryFrameHeader(65_535)], [0x82, 126, 0xff, 0xff]);
    assert.deepEqual([...binaryFrameHeader(65_536)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    assert.deepEqual([...binaryFrameHeader(2 ** 32 + 5)], [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 5]);
  });

  it("sends several pieces as one message, in order with ws's own frames", async () => {
    const p = await pair();
    try {
      assert.ok(rawSocketOf(p.server), "server side with no extensions uses the raw socket");
      assert.equal(rawSocketOf(p.client), undefined, "client frames must be masked: no raw path");
      const got: Buffer[] = [];
      const all = new Promise<void>((resolve) =>
        p.client.on("message", (d: Buffer) => {
          got.push(d);
          if (got.length === 3) resolve();
        }),
      );
      const pieces = [Buffer.alloc(10, 1), Buffer.alloc(70_000, 2), Buffer.alloc(3, 3)];
      let done = false;
      p.server.send(Buffer.from("first"));
      sendPieces(p.server, pieces, 70_013, () => {
        done = true;
      });
      p.server.send(Buffer.from("last"));
      await all;
      assert.equal(got[0]!.toString(), "first");
      assert.deepEqual(got[1], Buffer.concat(pieces));
      assert.equal(got[2]!.toString(), "last");
      assert.ok(done, "the callback runs once the frame is written");
    } finally {
      await p.close();
    }
  });

  it("falls back to ws.send where raw frames are not allowed", async () => {
    const p = await pair();
    try {
      const got = new Promise<Buffer>((r) => p.server.once("message", r));
      sendPieces(p.client, [Buffer.from("ab"), Buffer.from("cd")], 4);
      assert.equal((await got).toString(), "abcd");
    } finally {
      await p.close();
    }
  });
});
