import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { silentLogger } from "@streamspace/common/log";
import { WAIT } from "@streamspace/common/testing";
import { DemoDesktop } from "./demo-desktop.ts";
import { RfbClient } from "./rfb-client.ts";
import { createRfbServer } from "./rfb-server.ts";

async function startServer() {
  const desktop = new DemoDesktop(320, 240, "test desktop");
  const server = createRfbServer({ desktop, name: "test desktop", log: silentLogger });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    desktop,
    port,
    async [Symbol.asyncDispose]() {
      desktop.stop();
      server.close();
      await new Promise((r) => setImmediate(r));
    },
  };
}

function rawExchange(port: number, send: Buffer[], timeoutMs = WAIT.short): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error("server did not close the connection"));
    }, timeoutMs);
    s.on("data", (d) => {
      chunks.push(d);
      const next = send.shift();
      if (next) s.write(next);
    });
    s.on("close", () => {
      clearTimeout(t);
      resolve(Buffer.concat(chunks));
    });
    s.on("error", () => {});
  });
}

describe("built-in RFB server", () => {
  test("handshake, full update, key and pointer events change pixels", async () => {
    await using srv = await startServer();
    using client = await RfbClient.connect(srv.port);
    assert.equal(client.width, 320);
    assert.equal(client.height, 240);
    assert.equal(client.name, "test desktop");
    client.requestUpdate(false);
    const full = await client.nextUpdate();
    assert.deepEqual(full, [{ x: 0, y: 0, w: 320, h: 240 }]);
    assert.deepEqual(client.framebuffer, srv.desktop.pixels);
    const before = client.framebuffer.slice();

    client.requestUpdate(true);
    client.keyEvent(true, "A".charCodeAt(0));
    client.keyEvent(false, "A".charCodeAt(0));
    const rects = await client.nextUpdate();
    assert.ok(rects.length > 0);
    assert.notDeepEqual(client.framebuffer, before, "a key press must change the picture");
    assert.deepEqual(client.framebuffer, srv.desktop.pixels);

    const afterKey = client.framebuffer.slice();
    client.requestUpdate(true);
    client.pointerEvent(1, 200, 200);
    await client.nextUpdate();
    assert.equal(client.framebuffer[200 * 320 + 200], 0xffd23f);
    assert.notDeepEqual(client.framebuffer, afterKey);
  });

  test("incremental request waits for damage instead of answering at once", async () => {
    await using srv = await startServer();
    using client = await RfbClient.connect(srv.port);
    client.requestUpdate(false);
    await client.nextUpdate();
    client.requestUpdate(true);
    await assert.rejects(client.nextUpdate(300), /no framebuffer update/);
    srv.desktop.tick();
    const rects = await client.nextUpdate();
    assert.equal(rects[0]?.y, 0, "the clock bar was damaged");
  });

  test("unknown protocol version is refused with a closed connection", async () => {
    await using srv = await startServer();
    const got = await rawExchange(srv.port, [Buffer.from("HTTP/1.1 GET\n")]);
    assert.equal(got.toString("latin1"), "RFB 003.008\n");
  });

  test("wrong security type gets a reason string", async () => {
    await using srv = await startServer();
    const got = await rawExchange(srv.port, [Buffer.from("RFB 003.008\n"), Buffer.from([2])]);
    assert.match(got.toString("latin1"), /only security type None/);
  });

  test("a colour-map pixel format or an unknown message closes the viewer", async () => {
    await using srv = await startServer();
    const pf = Buffer.alloc(20);
    pf.writeUInt8(0, 0);
    pf.writeUInt8(8, 4); // 8 bpp, true-colour flag 0
    const hs = [Buffer.from("RFB 003.008\n"), Buffer.from([1]), Buffer.from([1])];
    const closed = await rawExchange(srv.port, [...hs, pf]);
    assert.ok(closed.length > 12);
    const closed2 = await rawExchange(srv.port, [...hs, Buffer.from([99])]);
    assert.ok(closed2.length > 12);
  });

  test("16-bit pixel formats are converted", async () => {
    await using srv = await startServer();
    using client = await RfbClient.connect(srv.port);
    assert.equal(client.serverFormat.bitsPerPixel, 32);
    // The client always asks for 32 bpp; the converter is checked directly here.
    const { encodeRaw } = await import("./pixel-format.ts");
    const out = encodeRaw(new Uint32Array([0xff0000, 0x00ff00]), 2, 0, 0, 2, 1, {
      bitsPerPixel: 16,
      depth: 16,
      bigEndian: false,
      trueColour: true,
      redMax: 31,
      greenMax: 63,
      blueMax: 31,
      redShift: 11,
      greenShift: 5,
      blueShift: 0,
    });
    assert.deepEqual([out.readUInt16LE(0), out.readUInt16LE(2)], [0xf800, 0x07e0]);
  });
});
