/**
 * One viewer's connection to its session through the relay, kept alive across relay changes.
 * Viewer tokens are single use and live 60 s, so every (re)connect asks the control plane for
 * a fresh one; a relay that dies or hands the session to another owner closes the socket, and
 * the loop simply dials `/vnc/{id}` again (the balancer and relays route it to the new owner).
 *
 * The desktop follows the window where its server allows (noVNC's resizeSession sends
 * SetDesktopSize: the built-in desktop resizes; x11vnc refuses, so an X desktop keeps its
 * size and is scaled to fit). The clipboard goes both ways: text the desktop copies arrives
 * as a `clipboard` event, and `paste()` sends text to it.
 */
import RFB from "@novnc/novnc";
import { ViewerMeter } from "./viewer-meter.ts";

export type ViewerStatus = "idle" | "connecting" | "connected" | "reconnecting" | "failed";

export interface ViewerSnapshot {
  status: ViewerStatus;
  /** Why the last connection ended, in words for a person ("" while connected). */
  detail: string;
  /** Connections made so far, counting the first; lets tests see a reconnect happened. */
  connects: number;
  desktopName: string;
  /** The last text the desktop put on its clipboard ("" until it does). */
  clipboard: string;
}

export interface VncConnectionOptions {
  target: HTMLElement;
  /** e.g. "ws://host:8080/vnc/<id>"; the token is appended per attempt. */
  socketUrl: string;
  /** Asks the control plane for a fresh single-use viewer token. */
  token: () => Promise<string>;
  onChange: (s: ViewerSnapshot) => void;
  /** Backoff between attempts: 0.5 s doubling to 8 s. */
  delayMs?: (attempt: number) => number;
}

// Close codes the relay uses (TOKENS.md); they explain a drop better than "connection lost".
const CLOSE_REASONS: Record<number, string> = {
  1001: "The relay is restarting; reconnecting.",
  1006: "The connection dropped; reconnecting.",
  4401: "The viewer token was not accepted; getting a new one.",
  4403: "The viewer token was already used; getting a new one.",
  4404: "The relay does not know this session yet; retrying.",
};

/** Drives RFB; `close()` stops for good. */
export class VncConnection {
  #opts: VncConnectionOptions;
  #rfb: RFB | null = null;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #snap: ViewerSnapshot = {
    status: "idle",
    detail: "",
    connects: 0,
    desktopName: "",
    clipboard: "",
  };
  /** Frames, bytes, time to first frame and local input, across reconnects. */
  readonly meter = new ViewerMeter();

  constructor(opts: VncConnectionOptions) {
    this.#opts = opts;
    void this.#connect();
  }

  get snapshot(): ViewerSnapshot {
    return this.#snap;
  }

  #set(patch: Partial<ViewerSnapshot>) {
    this.#snap = { ...this.#snap, ...patch };
    this.#opts.onChange(this.#snap);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    this.#set({
      status: this.#snap.connects === 0 && this.#attempt === 0 ? "connecting" : "reconnecting",
    });
    let token: string;
    try {
      token = await this.#opts.token();
    } catch (err) {
      return this.#retry(`Could not get a viewer token: ${(err as Error).message}`);
    }
    if (this.#closed) return;
    const started = performance.now();
    const ws = new WebSocket(`${this.#opts.socketUrl}?token=${encodeURIComponent(token)}`);
    this.meter.attach(ws, started);
    let closeInfo = "";
    ws.addEventListener("close", (e) => {
      closeInfo =
        CLOSE_REASONS[e.code] ??
        (e.reason || `The connection closed (code ${e.code}); reconnecting.`);
    });
    const rfb = new RFB(this.#opts.target, ws, { shared: true });
    this.#rfb = rfb;
    this.#countFrames(rfb);
    rfb.scaleViewport = true;
    rfb.resizeSession = true;
    rfb.focusOnClick = true;
    rfb.background = "transparent";
    rfb.addEventListener("connect", () => {
      this.#attempt = 0;
      this.#set({ status: "connected", detail: "", connects: this.#snap.connects + 1 });
      rfb.focus({ preventScroll: true });
    });
    rfb.addEventListener("desktopname", (e) => this.#set({ desktopName: e.detail.name }));
    rfb.addEventListener("clipboard", (e) => this.#set({ clipboard: e.detail.text }));
    rfb.addEventListener("securityfailure", (e) => {
      closeInfo = `The desktop refused the connection: ${e.detail.reason ?? `status ${e.detail.status}`}.`;
    });
    rfb.addEventListener("disconnect", () => {
      if (this.#rfb === rfb) this.#rfb = null;
      if (this.#closed) return;
      // Let the socket's close event land first so we can say why.
      setTimeout(() => this.#retry(closeInfo || "The connection closed; reconnecting."), 0);
    });
  }

  /**
   * Counts frames where noVNC draws them: it calls its display's flip() once per finished
   * FramebufferUpdate, in request/answer mode and in continuous updates alike (TigerVNC). A
   * private part of noVNC 1.7 (pinned); without it the meter counts frame requests instead.
   */
  #countFrames(rfb: RFB) {
    const display = (rfb as unknown as { _display?: { flip?: (...a: unknown[]) => unknown } })
      ._display;
    const flip = display?.flip;
    if (!display || typeof flip !== "function") return;
    display.flip = (...args: unknown[]) => {
      this.meter.frameDrawn();
      return flip.apply(display, args);
    };
  }

  #retry(detail: string) {
    if (this.#closed) return;
    const delay = (this.#opts.delayMs ?? ((n) => Math.min(500 * 2 ** n, 8_000)))(this.#attempt++);
    this.#set({ status: "reconnecting", detail });
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }

  /** Moves keyboard focus into the remote desktop. */
  focus() {
    this.#rfb?.focus({ preventScroll: true });
  }

  sendCtrlAltDel() {
    this.#rfb?.sendCtrlAltDel();
  }

  /** Puts text on the desktop's clipboard (paste it there with the desktop's own keys). */
  paste(text: string) {
    this.#rfb?.clipboardPasteFrom(text);
  }

  /** Stops reconnecting and closes the socket. */
  close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    const rfb = this.#rfb;
    this.#rfb = null;
    try {
      rfb?.disconnect();
    } catch {
      // Already closed.
    }
    this.#set({ status: "idle", detail: "" });
  }
}
