/**
 * A bare RFB viewer for tests that need what RfbClient does not speak: pseudo-encodings
 * (ExtendedDesktopSize -308, DesktopSize -223), SetDesktopSize and ClientCutText. Security
 * None, raw pixels (skipped, not kept).
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { ByteReader } from "../vnc/byte-reader.ts";

const u16 = (n: number) => [n >> 8, n & 255];
const i32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return [...b];
};

/** One rectangle of an update: for -308 and -223, x/y are reason/status and w/h the size. */
export interface RawRect {
  x: number;
  y: number;
  w: number;
  h: number;
  enc: number;
}

/** Connects, completes the handshake and announces `encodings`. */
export async function rawRfbViewer(port: number, encodings: number[]) {
  const socket: Socket = connect(port, "127.0.0.1");
  const reader = new ByteReader(socket, 64 << 20);
  await reader.read(12);
  socket.write("RFB 003.008\n");
  const [types = 0] = await reader.read(1);
  assert.ok((await reader.read(types)).includes(1), "the server offers security None");
  socket.write(Buffer.from([1]));
  await reader.read(4);
  socket.write(Buffer.from([1]));
  const init = await reader.read(24);
  const bytesPerPixel = (init[4] ?? 32) / 8;
  const name = (await reader.read(init.readUInt32BE(20))).toString("utf8");
  socket.write(Buffer.from([2, 0, ...u16(encodings.length), ...encodings.flatMap(i32)]));
  /** The first screen the server announced: a SetDesktopSize must name it. */
  let screen = { id: 0, flags: 0 };
  return {
    socket,
    name,
    width: init.readUInt16BE(0),
    height: init.readUInt16BE(2),
    request(incremental: boolean, w = 4096, h = 4096) {
      socket.write(Buffer.from([3, incremental ? 1 : 0, 0, 0, 0, 0, ...u16(w), ...u16(h)]));
    },
    setDesktopSize(w: number, h: number) {
      const layout = Buffer.alloc(16);
      layout.writeUInt32BE(screen.id, 0);
      layout.writeUInt16BE(w, 8);
      layout.writeUInt16BE(h, 10);
      layout.writeUInt32BE(screen.flags, 12);
      socket.write(Buffer.concat([Buffer.from([251, 0, ...u16(w), ...u16(h), 1, 0]), layout]));
    },
    paste(text: string) {
      const b = Buffer.from(text, "latin1");
      socket.write(Buffer.from([6, 0, 0, 0, ...i32(b.length), ...b]));
    },
    /** Reads one FramebufferUpdate (other server messages are skipped); returns its rects. */
    async update(): Promise<RawRect[]> {
      for (;;) {
        const [type] = await reader.read(1);
        if (type === 2) continue; // Bell
        if (type === 3) {
          const len = (await reader.read(7)).readUInt32BE(3);
          await reader.read(len); // ServerCutText
          continue;
        }
        assert.equal(type, 0, `a FramebufferUpdate (got message type ${type})`);
        break;
      }
      const head = await reader.read(3);
      const rects: RawRect[] = [];
      for (let i = 0; i < head.readUInt16BE(1); i++) {
        const r = await reader.read(12);
        const rect = {
          x: r.readUInt16BE(0),
          y: r.readUInt16BE(2),
          w: r.readUInt16BE(4),
          h: r.readUInt16BE(6),
          enc: r.readInt32BE(8),
        };
        if (rect.enc === 0) await reader.read(rect.w * rect.h * bytesPerPixel);
        if (rect.enc === -308) {
          const n = (await reader.read(4))[0] ?? 0;
          const screens = await reader.read(16 * n);
          if (n > 0) screen = { id: screens.readUInt32BE(0), flags: screens.readUInt32BE(12) };
        }
        rects.push(rect);
      }
      return rects;
    },
    /** Reads updates until one carries a size rectangle. */
    async sizeChange(): Promise<RawRect> {
      for (;;) {
        const found = (await this.update()).find((r) => r.enc === -308 || r.enc === -223);
        if (found) return found;
        this.request(true);
      }
    },
  };
}
