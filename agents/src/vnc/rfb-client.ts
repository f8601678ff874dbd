/**
 * A minimal RFB 3.8 viewer for tests and health probes: handshake with security None, asks for
 * 32-bit little-endian true colour and raw encoding, keeps a local copy of the framebuffer, and
 * sends key and pointer events. It proves a session's VNC server really serves pixels, which a
 * TCP connect alone cannot.
 */
import { connect, type Socket } from "node:net";
import { ByteReader } from "./byte-reader.ts";
import type { Rect } from "./demo-desktop.ts";
import {
  decodePixelFormat,
  encodePixelFormat,
  NATIVE_FORMAT,
  type PixelFormat,
} from "./pixel-format.ts";

const MAX_QUEUED_UPDATES = 64;

/** A connected viewer; `close()` (or `await using`) ends it. */
export class RfbClient {
  /** 0xRRGGBB pixels as last received. */
  framebuffer: Uint32Array;
  private readonly updates: Rect[][] = [];
  private waiter: (() => void) | undefined;
  private failed: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly reader: ByteReader,
    readonly width: number,
    readonly height: number,
    readonly name: string,
    readonly serverFormat: PixelFormat,
  ) {
    this.framebuffer = new Uint32Array(width * height);
  }

  /** Connects and completes the handshake within `timeoutMs`, or rejects saying which step failed. */
  static async connect(port: number, host = "127.0.0.1", timeoutMs = 5000): Promise<RfbClient> {
    const socket = connect({ port, host, noDelay: true });
    const reader = new ByteReader(socket, 64 << 20);
    const timer = setTimeout(
      () => socket.destroy(new Error(`RFB handshake with ${host}:${port} timed out`)),
      timeoutMs,
    );
    try {
      const version = (await reader.read(12)).toString("latin1");
      if (!/^RFB 003\.00[378]\n$/.test(version))
        throw new Error(`unexpected server version ${JSON.stringify(version)}`);
      socket.write("RFB 003.008\n");
      const [n = 0] = await reader.read(1);
      if (n === 0) {
        const len = (await reader.read(4)).readUInt32BE(0);
        throw new Error(`server refused: ${(await reader.read(len)).toString()}`);
      }
      const types = [...(await reader.read(n))];
      if (!types.includes(1))
        throw new Error(`server offers security types [${types}], not None (1)`);
      socket.write(Buffer.from([1]));
      if ((await reader.read(4)).readUInt32BE(0) !== 0)
        throw new Error("security handshake failed");
      socket.write(Buffer.from([1])); // shared
      const init = await reader.read(24);
      const name = (await reader.read(init.readUInt32BE(20))).toString("utf8");
      const client = new RfbClient(
        socket,
        reader,
        init.readUInt16BE(0),
        init.readUInt16BE(2),
        name,
        decodePixelFormat(init.subarray(4, 20)),
      );
      const pf = Buffer.alloc(20);
      encodePixelFormat(NATIVE_FORMAT).copy(pf, 4);
      const enc = Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]); // SetEncodings: [raw]
      socket.write(Buffer.concat([pf, enc]));
      client.pump().catch((err: unknown) => client.fail(err));
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Asks for an update of `rect` (whole screen by default). */
  requestUpdate(
    incremental: boolean,
    rect: Rect = { x: 0, y: 0, w: this.width, h: this.height },
  ): void {
    const b = Buffer.alloc(10);
    b.writeUInt8(3, 0);
    b.writeUInt8(incremental ? 1 : 0, 1);
    b.writeUInt16BE(rect.x, 2);
    b.writeUInt16BE(rect.y, 4);
    b.writeUInt16BE(rect.w, 6);
    b.writeUInt16BE(rect.h, 8);
    this.socket.write(b);
  }

  /** Resolves with the rectangles of the next update, or rejects after `timeoutMs`. */
  async nextUpdate(timeoutMs = 5000): Promise<Rect[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const u = this.updates.shift();
      if (u) return u;
      if (this.failed) throw this.failed;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no framebuffer update within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  keyEvent(down: boolean, keysym: number): void {
    const b = Buffer.alloc(8);
    b.writeUInt8(4, 0);
    b.writeUInt8(down ? 1 : 0, 1);
    b.writeUInt32BE(keysym, 4);
    this.socket.write(b);
  }

  pointerEvent(buttonMask: number, x: number, y: number): void {
    const b = Buffer.alloc(6);
    b.writeUInt8(5, 0);
    b.writeUInt8(buttonMask, 1);
    b.writeUInt16BE(x, 2);
    b.writeUInt16BE(y, 4);
    this.socket.write(b);
  }

  close(): void {
    this.socket.destroy();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private fail(err: unknown): void {
    this.failed = err instanceof Error ? err : new Error(String(err));
    this.waiter?.();
  }

  private async pump(): Promise<void> {
    for (;;) {
      const [type] = await this.reader.read(1);
      if (type === 0) {
        const count = (await this.reader.read(3)).readUInt16BE(1);
        const rects: Rect[] = [];
        for (let i = 0; i < count; i++) {
          const h = await this.reader.read(12);
          const r = {
            x: h.readUInt16BE(0),
            y: h.readUInt16BE(2),
            w: h.readUInt16BE(4),
            h: h.readUInt16BE(6),
          };
          const enc = h.readInt32BE(8);
          if (enc !== 0) throw new Error(`server sent encoding ${enc}; only raw (0) was asked for`);
          const data = await this.reader.read(r.w * r.h * 4);
          for (let row = 0; row < r.h; row++) {
            for (let col = 0; col < r.w; col++) {
              this.framebuffer[(r.y + row) * this.width + r.x + col] =
                data.readUInt32LE((row * r.w + col) * 4) & 0xffffff;
            }
          }
          rects.push(r);
        }
        if (this.updates.length >= MAX_QUEUED_UPDATES) this.updates.shift();
        this.updates.push(rects);
        const w = this.waiter;
        this.waiter = undefined;
        w?.();
      } else if (type === 1) {
        const n = (await this.reader.read(5)).readUInt16BE(3);
        await this.reader.read(n * 6);
      } else if (type === 2) {
        // Bell: nothing to do.
      } else if (type === 3) {
        const len = (await this.reader.read(7)).readUInt32BE(3);
        await this.reader.read(len);
      } else {
        throw new Error(`unknown server message type ${type}`);
      }
    }
  }
}
