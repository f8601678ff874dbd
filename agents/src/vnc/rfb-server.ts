/**
 * A small RFB 3.8 server (RFC 6143) for the built-in demo desktop: security type None, raw
 * encoding, any true-colour pixel format, incremental updates driven by damage. It is the
 * fallback that lets a machine with no X server or VNC server still show a live desktop.
 * It follows the viewer's window: with the ExtendedDesktopSize pseudo-encoding (-308) a viewer
 * may send SetDesktopSize, the desktop resizes, and every viewer is told the new size
 * (ExtendedDesktopSize, or the older DesktopSize -223). Pasted text (ClientCutText) is typed
 * into the demo's panel.
 *
 * Flow control is the protocol's own: an update is sent only in answer to a
 * FramebufferUpdateRequest, requests are merged (one pending per viewer), and when the socket's
 * write buffer is above a bound we wait for `drain` before sending more.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "@streamspace/common/log";
import { ByteReader } from "./byte-reader.ts";
import type { DemoDesktop, Rect } from "./demo-desktop.ts";
import {
  decodePixelFormat,
  encodePixelFormat,
  encodeRaw,
  NATIVE_FORMAT,
  type PixelFormat,
  unsupportedReason,
} from "./pixel-format.ts";

/** Options for the built-in server; bounds are per connection. */
export interface RfbServerOptions {
  desktop: DemoDesktop;
  name: string;
  log: Logger;
  /** Viewers beyond this are refused at accept time. */
  maxClients?: number;
  /** Above this many unsent bytes, updates wait for the socket to drain. */
  maxWriteBuffer?: number;
}

const MAX_CUT_TEXT = 1 << 20;
const MAX_ENCODINGS = 1024;
const ENC_DESKTOP_SIZE = -223;
const ENC_EXTENDED_DESKTOP_SIZE = -308;

/** ExtendedDesktopSize reasons and statuses (RFC 6143 §7.8.2). */
const REASON = { server: 0, thisClient: 1, otherClient: 2 } as const;
const STATUS = { ok: 0, prohibited: 1, invalid: 3 } as const;

/** A size change a viewer has yet to be told about. */
interface SizeNotice {
  reason: number;
  status: number;
}

function union(a: Rect | undefined, b: Rect): Rect {
  if (!a) return { ...b };
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, w: Math.max(a.x + a.w, b.x + b.w) - x, h: Math.max(a.y + a.h, b.y + b.h) - y };
}

function intersect(a: Rect, b: Rect): Rect | undefined {
  const x = Math.max(a.x, b.x);
  const y = Math.max(a.y, b.y);
  const w = Math.min(a.x + a.w, b.x + b.w) - x;
  const h = Math.min(a.y + a.h, b.y + b.h) - y;
  return w > 0 && h > 0 ? { x, y, w, h } : undefined;
}

/** Creates (not yet listening) a TCP server that speaks RFB for the given desktop. */
export function createRfbServer(opts: RfbServerOptions): Server {
  const server = createServer({ noDelay: true });
  server.maxConnections = opts.maxClients ?? 64;
  server.on("connection", (socket) => {
    serveViewer(socket, opts).catch((err: unknown) => {
      opts.log.debug("viewer disconnected", { err });
      socket.destroy();
    });
  });
  return server;
}

async function handshake(
  socket: Socket,
  reader: ByteReader,
  opts: RfbServerOptions,
): Promise<void> {
  socket.write("RFB 003.008\n");
  const version = (await reader.read(12)).toString("latin1");
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(version);
  if (!m || Number(m[1]) !== 3)
    throw new Error(`viewer sent an unknown protocol version ${JSON.stringify(version)}`);
  const minor = Math.min(Number(m[2]), 8);
  if (minor < 7) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(1); // RFB 3.3: the server decides; None.
    socket.write(b);
  } else {
    socket.write(Buffer.from([1, 1]));
    const [choice] = await reader.read(1);
    if (choice !== 1) {
      const reason = Buffer.from("only security type None (1) is offered");
      const b = Buffer.alloc(8);
      b.writeUInt32BE(1, 0);
      b.writeUInt32BE(reason.length, 4);
      socket.end(Buffer.concat([b, reason]));
      throw new Error(`viewer chose security type ${choice}`);
    }
    if (minor === 8) socket.write(Buffer.alloc(4)); // SecurityResult OK
  }
  await reader.read(1); // ClientInit shared-flag: every viewer shares the one desktop.
  const name = Buffer.from(opts.name, "utf8");
  const init = Buffer.alloc(24);
  init.writeUInt16BE(opts.desktop.width, 0);
  init.writeUInt16BE(opts.desktop.height, 2);
  encodePixelFormat(NATIVE_FORMAT).copy(init, 4);
  init.writeUInt32BE(name.length, 20);
  socket.write(Buffer.concat([init, name]));
}

async function serveViewer(socket: Socket, opts: RfbServerOptions): Promise<void> {
  const { desktop } = opts;
  const maxWrite = opts.maxWriteBuffer ?? 8 << 20;
  const reader = new ByteReader(socket, 1 << 20);
  const screen = (): Rect => ({ x: 0, y: 0, w: desktop.width, h: desktop.height });
  let format: PixelFormat = NATIVE_FORMAT;
  let dirty: Rect | undefined;
  let wanted: Rect | undefined;
  let waitingDrain = false;
  let extendedSize = false;
  let plainSize = false;
  let notice: SizeNotice | undefined;
  const me = {};

  /** Sends a pending size notice as an update of its own; true when one went out. */
  const sendNotice = (): boolean => {
    if (!notice || !wanted) return false;
    const n = notice;
    notice = undefined;
    wanted = undefined;
    const head = Buffer.alloc(16);
    head.writeUInt8(0, 0);
    head.writeUInt16BE(1, 2);
    if (extendedSize) {
      head.writeUInt16BE(n.reason, 4);
      head.writeUInt16BE(n.status, 6);
      head.writeUInt16BE(desktop.width, 8);
      head.writeUInt16BE(desktop.height, 10);
      head.writeInt32BE(ENC_EXTENDED_DESKTOP_SIZE, 12);
      const screens = Buffer.alloc(4 + 16);
      screens.writeUInt8(1, 0);
      screens.writeUInt16BE(desktop.width, 4 + 8);
      screens.writeUInt16BE(desktop.height, 4 + 10);
      socket.write(Buffer.concat([head, screens]));
    } else {
      head.writeUInt16BE(desktop.width, 8);
      head.writeUInt16BE(desktop.height, 10);
      head.writeInt32BE(ENC_DESKTOP_SIZE, 12);
      socket.write(head);
    }
    return true;
  };

  const flush = () => {
    if (waitingDrain || socket.destroyed) return;
    if (sendNotice()) return;
    if (!wanted || !dirty) return;
    if (socket.writableLength > maxWrite) {
      waitingDrain = true;
      socket.once("drain", () => {
        waitingDrain = false;
        flush();
      });
      return;
    }
    const area = intersect(dirty, wanted);
    if (!area) return;
    if (area.x === dirty.x && area.y === dirty.y && area.w === dirty.w && area.h === dirty.h)
      dirty = undefined;
    wanted = undefined;
    const head = Buffer.alloc(16);
    head.writeUInt8(0, 0); // FramebufferUpdate
    head.writeUInt16BE(1, 2);
    head.writeUInt16BE(area.x, 4);
    head.writeUInt16BE(area.y, 6);
    head.writeUInt16BE(area.w, 8);
    head.writeUInt16BE(area.h, 10);
    head.writeInt32BE(0, 12); // raw
    socket.cork();
    socket.write(head);
    socket.write(encodeRaw(desktop.pixels, desktop.width, area.x, area.y, area.w, area.h, format));
    socket.uncork();
  };

  await handshake(socket, reader, opts);
  const off = desktop.onDamage((rect) => {
    dirty = union(dirty, rect);
    flush();
  });
  const offResize = desktop.onResize((by) => {
    dirty = screen();
    // Viewers that announced neither encoding keep a stale size; they reconnect to recover.
    if (extendedSize || plainSize)
      notice = {
        reason: by === me ? REASON.thisClient : REASON.otherClient,
        status: STATUS.ok,
      };
    flush();
  });
  socket.once("close", () => {
    off();
    offResize();
  });
  try {
    for (;;) {
      const [type] = await reader.read(1);
      switch (type) {
        case 0: {
          const pf = decodePixelFormat((await reader.read(19)).subarray(3));
          const why = unsupportedReason(pf);
          if (why) throw new Error(`SetPixelFormat refused: ${why}`);
          format = pf;
          break;
        }
        case 2: {
          const count = (await reader.read(3)).readUInt16BE(1);
          if (count > MAX_ENCODINGS)
            throw new Error(`SetEncodings lists ${count} encodings (max ${MAX_ENCODINGS})`);
          const list = await reader.read(count * 4);
          const encodings = Array.from({ length: count }, (_, i) => list.readInt32BE(i * 4));
          // Raw is always acceptable; only the size pseudo-encodings matter here.
          const wasExtended = extendedSize;
          extendedSize = encodings.includes(ENC_EXTENDED_DESKTOP_SIZE);
          plainSize = encodings.includes(ENC_DESKTOP_SIZE);
          // Announcing the current size is how a viewer learns it may ask for another.
          if (extendedSize && !wasExtended) notice = { reason: REASON.server, status: STATUS.ok };
          break;
        }
        case 3: {
          const b = await reader.read(9);
          const req = intersect(
            {
              x: b.readUInt16BE(1),
              y: b.readUInt16BE(3),
              w: b.readUInt16BE(5),
              h: b.readUInt16BE(7),
            },
            screen(),
          );
          if (!req) {
            // A request for an area the screen no longer has (it shrank) still gets answered.
            if (notice) {
              wanted = screen();
              flush();
            }
            break;
          }
          if (b.readUInt8(0) === 0) dirty = union(dirty, req);
          wanted = union(wanted, req);
          flush();
          break;
        }
        case 4: {
          const b = await reader.read(7);
          desktop.keyEvent(b.readUInt8(0) !== 0, b.readUInt32BE(3));
          break;
        }
        case 5: {
          const b = await reader.read(5);
          desktop.pointerEvent(b.readUInt8(0), b.readUInt16BE(1), b.readUInt16BE(3));
          break;
        }
        case 6: {
          const raw = (await reader.read(7)).readInt32BE(3);
          const len = Math.abs(raw);
          if (len > MAX_CUT_TEXT)
            throw new Error(`ClientCutText of ${len} bytes exceeds ${MAX_CUT_TEXT}`);
          const text = await reader.read(len);
          // Negative: the extended-clipboard form, which this server does not announce.
          if (raw >= 0) desktop.paste(text.toString("latin1"));
          break;
        }
        case 251: {
          const b = await reader.read(7);
          const count = b.readUInt8(5);
          await reader.read(count * 16);
          const w = b.readUInt16BE(1);
          const h = b.readUInt16BE(3);
          try {
            desktop.resize(w, h, me);
            if (w === desktop.width && h === desktop.height && !notice)
              notice = { reason: REASON.thisClient, status: STATUS.ok };
          } catch {
            notice = { reason: REASON.thisClient, status: STATUS.invalid };
          }
          flush();
          break;
        }
        default:
          throw new Error(`unknown client message type ${type}`);
      }
    }
  } finally {
    off();
    offResize();
    socket.destroy();
  }
}
