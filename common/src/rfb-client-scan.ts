/**
 * Reads the viewer → server half of an RFB (VNC, RFC 6143) connection just far enough to tell
 * message boundaries apart, so the relay can say when a person last pressed a key or moved
 * the pointer (idle hibernation) and how many frames the viewer asked for (QoE), without
 * buffering or copying the bytes it forwards. It never changes the stream.
 *
 * Only the client's own bytes are needed: the version line (12 bytes), the chosen security
 * type (1 byte, RFB 3.7+), a VNC-auth response (16 bytes, type 2 only), ClientInit (1 byte),
 * then messages whose length follows from their header. A security type it cannot follow (TLS,
 * VeNCrypt) or an unknown message type makes it lose sync; from then on every client byte
 * counts as input, because calling a busy person idle costs them their desktop, while calling
 * an idle one busy only delays a hibernation.
 */

/** What the scanner reports, per message or per chunk. */
export interface RfbClientEvents {
  /** A KeyEvent, PointerEvent, QEMU key event or ClientCutText (a person did something). */
  input(kind: RfbInputKind): void;
  /** A FramebufferUpdateRequest: in RFB's request/answer flow, one per frame the viewer got. */
  frameRequest(incremental: boolean): void;
  /**
   * EnableContinuousUpdates: the server now sends frames unasked (TigerVNC and noVNC agree on
   * this when both can), so frame requests stop counting frames.
   */
  continuousUpdates?(enabled: boolean): void;
}

/** "other": bytes after the scanner lost sync, counted as input (see above). */
export type RfbInputKind = "key" | "pointer" | "clipboard" | "other";

type Phase = "version" | "security" | "auth" | "init" | "messages" | "lost";

/** Fixed message lengths by type; variable ones are worked out from their header below. */
const FIXED: Record<number, number> = {
  0: 20, // SetPixelFormat
  3: 10, // FramebufferUpdateRequest
  4: 8, // KeyEvent
  5: 6, // PointerEvent
  150: 10, // EnableContinuousUpdates
  250: 4, // xvp
};
const FIXED_LEN = new Uint8Array(256);
for (const [type, len] of Object.entries(FIXED)) FIXED_LEN[Number(type)] = len;
/** Header bytes needed before a variable-length message's total length is known. */
const HEADER: Record<number, number> = { 2: 4, 6: 8, 248: 9, 251: 8, 253: 4, 255: 4 };

/** Incremental scanner; feed it every client chunk in order with `push`. */
export class RfbClientScanner {
  #phase: Phase = "version";
  #minor = 8;
  /** Bytes still to skip of the current message (its body, already classified). */
  #skip = 0;
  /** The current message's header, gathered across chunks. */
  readonly #head = new Uint8Array(12);
  #headLen = 0;
  #headNeed = 0;

  constructor(private readonly events: RfbClientEvents) {}

  /** True once the scanner gave up following message boundaries. */
  get lostSync(): boolean {
    return this.#phase === "lost";
  }

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      // Fast path: a whole fixed-size message at a boundary is classified in place, with no
      // copy into the header buffer (input and frame requests are nearly all of the stream).
      if (this.#phase === "messages" && this.#skip === 0 && this.#headLen === 0) {
        const type = chunk[i] as number;
        const len = FIXED_LEN[type] as number;
        if (len > 0 && i + len <= chunk.length) {
          if (type === 5) this.events.input("pointer");
          else if (type === 3) this.events.frameRequest(chunk[i + 1] !== 0);
          else if (type === 4) this.events.input("key");
          else if (type === 150) this.events.continuousUpdates?.(chunk[i + 1] !== 0);
          i += len;
          continue;
        }
      }
      if (this.#phase === "lost") {
        this.events.input("other");
        return;
      }
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - i);
        this.#skip -= n;
        i += n;
        continue;
      }
      const b = chunk[i] as number;
      this.#head[this.#headLen++] = b;
      i++;
      if (this.#headNeed === 0) this.#headNeed = this.#needFor(b);
      if (this.#headNeed < 0) {
        this.#phase = "lost";
        continue;
      }
      if (this.#headLen < this.#headNeed) continue;
      const total = this.#complete();
      if (total < 0) continue; // the header turned out longer; keep gathering
      this.#skip = Math.max(0, total - this.#headLen);
      this.#headLen = 0;
      this.#headNeed = 0;
    }
  }

  /** Header bytes to gather for a message starting with `first`; -1 when unknown. */
  #needFor(first: number): number {
    switch (this.#phase) {
      case "version":
        return 12;
      case "security":
      case "init":
        return 1;
      case "auth":
        return 16;
      default:
        if (first === 255) return 2;
        return FIXED[first] ?? HEADER[first] ?? -1;
    }
  }

  /** Handles a gathered header; returns the message's total length, or -1 to gather more. */
  #complete(): number {
    const h = this.#head;
    const len = this.#headLen;
    switch (this.#phase) {
      case "version": {
        const text = String.fromCharCode(...h.subarray(0, 12));
        const m = /^RFB 003\.(\d{3})\n$/.exec(text);
        if (!m) this.#phase = "lost";
        else {
          this.#minor = Number(m[1]);
          // RFB 3.3: the server picks the type and the client sends no choice; None is assumed.
          this.#phase = this.#minor >= 7 ? "security" : "init";
        }
        return 12;
      }
      case "security":
        this.#phase = h[0] === 1 ? "init" : h[0] === 2 ? "auth" : "lost";
        return 1;
      case "auth":
        this.#phase = "init";
        return 16;
      case "init":
        this.#phase = "messages";
        return 1;
      default:
        return this.#message(h, len);
    }
  }

  #message(h: Uint8Array, len: number): number {
    const type = h[0] as number;
    const u16 = (at: number) => ((h[at] as number) << 8) | (h[at + 1] as number);
    switch (type) {
      case 3:
        this.events.frameRequest(h[1] !== 0);
        return 10;
      case 4:
        this.events.input("key");
        return 8;
      case 150:
        this.events.continuousUpdates?.(h[1] !== 0);
        return 10;
      case 5:
        this.events.input("pointer");
        return 6;
      case 2:
        return 4 + 4 * u16(2);
      case 6: {
        this.events.input("clipboard");
        // Negative lengths are the extended-clipboard form; its payload is |length| bytes.
        const raw = new DataView(h.buffer, h.byteOffset + 4, 4).getInt32(0);
        return 8 + Math.abs(raw);
      }
      case 248:
        return 9 + (h[8] as number);
      case 251:
        return 8 + 16 * (h[6] as number);
      case 253:
        return 4 + u16(2);
      case 255: {
        // QEMU: subtype 0 is an extended key event (12 bytes); subtype 1 is audio.
        if (len === 2) {
          if (h[1] === 0 || h[1] === 1) {
            this.#headNeed = h[1] === 0 ? 12 : 4;
            return -1;
          }
          this.#phase = "lost";
          return 2;
        }
        if (h[1] === 0) {
          this.events.input("key");
          return 12;
        }
        return u16(2) === 2 ? 10 : 4;
      }
      default:
        return FIXED[type] ?? len;
    }
  }
}
