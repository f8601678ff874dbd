/**
 * What the viewer itself measures on its WebSocket, beside the relay's figures: frames per
 * second (each frame noVNC finishes drawing, through `frameDrawn`; without that hook, its
 * FramebufferUpdateRequests, one per frame in RFB's request/answer flow), bytes per second
 * each way, time to first frame (connect to the first frame drawn), and when this person last
 * pressed a key or moved the pointer here (the idle warning hides at once on input, before the
 * relay's figure reaches the control plane). It reads the bytes noVNC sends with the relay's
 * own scanner and never changes them.
 */
import { RfbClientScanner } from "@streamspace/common/rfb-client-scan";

/** Figures for the overlay; rates are over the last `sample()` interval. */
export interface ViewerFigures {
  framesPerSecond: number;
  bytesInPerSecond: number;
  bytesOutPerSecond: number;
  /** Socket opened to first complete frame, ms, for the current connection (0: not yet). */
  timeToFirstFrameMs: number;
  /** Wall-clock ms of the last key, pointer or clipboard message sent from here (0: none). */
  lastInputMs: number;
}

/** One meter per viewer; `attach` each (re)connection's socket. */
export class ViewerMeter {
  #frames = 0;
  /** True once noVNC's own draw tells frames; requests then no longer count. */
  #drawHook = false;
  #startedAt = 0;
  #in = 0;
  #out = 0;
  #mark = { at: performance.now(), frames: 0, in: 0, out: 0 };
  #figures: ViewerFigures = {
    framesPerSecond: 0,
    bytesInPerSecond: 0,
    bytesOutPerSecond: 0,
    timeToFirstFrameMs: 0,
    lastInputMs: 0,
  };

  /** Measures one socket; `startedAt` is performance.now() when the connect began. */
  attach(ws: WebSocket, startedAt: number): void {
    this.#figures.timeToFirstFrameMs = 0;
    this.#startedAt = startedAt;
    let requests = 0;
    const scanner = new RfbClientScanner({
      input: () => {
        this.#figures.lastInputMs = Date.now();
      },
      frameRequest: () => {
        if (this.#drawHook) return;
        this.#frames++;
        // The first request asks for the whole screen; the second follows once it is drawn.
        if (++requests === 2) this.#firstFrame();
      },
    });
    const send = ws.send.bind(ws);
    ws.send = (data) => {
      const bytes = toBytes(data);
      if (bytes) {
        this.#out += bytes.byteLength;
        scanner.push(bytes);
      }
      send(data);
    };
    ws.addEventListener("message", (e: MessageEvent) => {
      const d = e.data as ArrayBuffer | Blob | string;
      this.#in += typeof d === "string" ? d.length : d instanceof Blob ? d.size : d.byteLength;
    });
  }

  /** A frame drawn on the canvas (noVNC finished a FramebufferUpdate). */
  frameDrawn(): void {
    this.#drawHook = true;
    this.#frames++;
    this.#firstFrame();
  }

  #firstFrame(): void {
    if (!this.#figures.timeToFirstFrameMs)
      this.#figures.timeToFirstFrameMs = Math.max(
        1,
        Math.round(performance.now() - this.#startedAt),
      );
  }

  /** Rates since the previous call; call it on a steady interval. */
  sample(): ViewerFigures {
    const now = performance.now();
    const dt = (now - this.#mark.at) / 1000;
    if (dt > 0) {
      this.#figures = {
        ...this.#figures,
        framesPerSecond: Math.round(((this.#frames - this.#mark.frames) / dt) * 10) / 10,
        bytesInPerSecond: Math.round((this.#in - this.#mark.in) / dt),
        bytesOutPerSecond: Math.round((this.#out - this.#mark.out) / dt),
      };
      this.#mark = { at: now, frames: this.#frames, in: this.#in, out: this.#out };
    }
    return this.#figures;
  }

  get lastInputMs(): number {
    return this.#figures.lastInputMs;
  }
}

function toBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** "1.2 MB/s", "640 B/s": short, for the overlay. */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  if (bytesPerSecond >= 1e3) return `${(bytesPerSecond / 1e3).toFixed(1)} kB/s`;
  return `${Math.round(bytesPerSecond)} B/s`;
}
