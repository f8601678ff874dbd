/**
 * The built-in server follows the viewer's window: ExtendedDesktopSize announced on request,
 * SetDesktopSize resizes the desktop and tells every viewer, bad sizes are refused with the
 * protocol's status, pasted text lands in the panel, and a long title is fitted, not cut.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { silentLogger } from "@streamspace/common/log";
import { rawRfbViewer as viewer } from "../testing/raw-rfb-viewer.ts";
import { DemoDesktop, fitText } from "./demo-desktop.ts";
import { createRfbServer } from "./rfb-server.ts";

const u16 = (n: number) => [n >> 8, n & 255];
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return [...b];
};

describe("demo desktop resize, paste and title", () => {
  test("SetDesktopSize resizes; the requester and other viewers are told; bad sizes refused", async () => {
    const desktop = new DemoDesktop(320, 240, "resize test");
    const server = createRfbServer({ desktop, name: "resize test", log: silentLogger });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const a = await viewer(port, [0, -308]);
    const b = await viewer(port, [0, -223]);
    try {
      a.request(false);
      const first = await a.update();
      assert.deepEqual(first[0], { x: 0, y: 0, w: 320, h: 240, enc: -308 }, "size announced");
      a.socket.write(Buffer.from([251, 0, ...u16(640), ...u16(480), 1, 0, ...Array(16).fill(0)]));
      a.request(true);
      const resized = await a.update();
      assert.deepEqual(resized[0], { x: 1, y: 0, w: 640, h: 480, enc: -308 }, "this client, ok");
      assert.equal(desktop.width, 640);
      assert.equal(desktop.pixels.length, 640 * 480);
      b.request(true);
      assert.deepEqual((await b.update())[0], { x: 0, y: 0, w: 640, h: 480, enc: -223 });
      a.socket.write(Buffer.from([251, 0, ...u16(10), ...u16(10), 1, 0, ...Array(16).fill(0)]));
      a.request(true);
      const refused = await a.update();
      assert.equal(refused[0]?.y, 3, "status: invalid screen layout");
      assert.equal(desktop.width, 640, "size unchanged");

      // Pasted text is typed into the panel.
      const before = desktop.pixels.slice();
      a.socket.write(Buffer.from([6, 0, 0, 0, ...i32(5), ...Buffer.from("hello")]));
      a.request(true);
      const pasted = await a.update();
      assert.ok(pasted.some((r) => r.enc === 0));
      assert.notDeepEqual(desktop.pixels, before, "the panel shows the pasted text");
    } finally {
      a.socket.destroy();
      b.socket.destroy();
      desktop.stop();
      server.close();
    }
  });

  test("a long title is fitted to the bar with an ellipsis; a short one is whole", () => {
    assert.equal(fitText("Demo desktop", 40), "Demo desktop");
    assert.equal(fitText("A very long desktop name that does not fit", 20), "A very long deskt...");
    assert.equal(fitText("A very long desktop name", 20).length <= 20, true);
  });
});
