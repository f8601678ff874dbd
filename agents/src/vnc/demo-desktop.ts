/**
 * The picture the built-in VNC server serves: a small interactive desktop (title bar with a
 * clock and a frame counter, a text panel that shows typed keys, a canvas the pointer draws
 * on). It exists so a fresh machine without Xvfb or x11vnc still shows a live desktop, and so
 * tests can prove that input reaches the server (a key changes pixels).
 */
import { drawText, GLYPH_HEIGHT, GLYPH_WIDTH } from "./bitmap-font.ts";

/** A damaged rectangle; viewers are sent only what changed. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Called whenever pixels change, with the bounding box of the change. */
export type DamageListener = (rect: Rect) => void;

/** Called after the desktop changed size; `by` is whoever asked (a viewer's token). */
export type ResizeListener = (by: unknown) => void;

/** The sizes a demo desktop accepts (its text layout needs some room). */
export const MIN_SIZE = { w: 200, h: 150 };
export const MAX_SIZE = { w: 4096, h: 4096 };

const BAR_H = 28;
const TEXT_SCALE = 3;
const MAX_TEXT = 2000;

// X11 keysyms the panel understands besides printable Latin-1.
const XK_BACKSPACE = 0xff08;
const XK_RETURN = 0xff0d;

/** A demo desktop: owns the 0xRRGGBB framebuffer and turns input events into damage. */
export class DemoDesktop {
  pixels: Uint32Array;
  private readonly listeners = new Set<DamageListener>();
  private readonly resizeListeners = new Set<ResizeListener>();
  private text = "";
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private panel: Rect;

  constructor(
    public width: number,
    public height: number,
    readonly title: string,
  ) {
    const why = sizeProblem(width, height);
    if (why) throw new RangeError(why);
    this.pixels = new Uint32Array(width * height);
    this.panel = panelFor(width, height);
    this.paintAll();
  }

  /**
   * Changes the screen size (a viewer's SetDesktopSize: the desktop follows the browser
   * window). Everything is repainted; the typed text is kept.
   */
  resize(width: number, height: number, by?: unknown): void {
    const why = sizeProblem(width, height);
    if (why) throw new RangeError(why);
    if (width === this.width && height === this.height) return;
    this.width = width;
    this.height = height;
    this.pixels = new Uint32Array(width * height);
    this.panel = panelFor(width, height);
    this.paintAll();
    for (const fn of this.resizeListeners) fn(by);
  }

  onResize(fn: ResizeListener): () => void {
    this.resizeListeners.add(fn);
    return () => this.resizeListeners.delete(fn);
  }

  /** Text pasted from a viewer's clipboard lands in the panel, as typing would. */
  paste(text: string): void {
    this.text += text.replace(/\r\n?/g, "\n");
    if (this.text.length > MAX_TEXT) this.text = this.text.slice(-MAX_TEXT);
    this.paintPanel();
    this.damage(this.panel);
  }

  /** Starts the clock; call stop() to let the process exit. */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  onDamage(fn: DamageListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Advances the clock and frame counter (public so tests need not wait a second). */
  tick(): void {
    this.frame++;
    this.paintBar();
    this.damage({ x: 0, y: 0, w: this.width, h: BAR_H });
  }

  /** A key press from a viewer: printable keys append, BackSpace deletes, Return breaks. */
  keyEvent(down: boolean, keysym: number): void {
    if (!down) return;
    if (keysym === XK_BACKSPACE) this.text = this.text.slice(0, -1);
    else if (keysym === XK_RETURN) this.text += "\n";
    else if (keysym >= 0x20 && keysym <= 0x7e) this.text += String.fromCharCode(keysym);
    else return;
    if (this.text.length > MAX_TEXT) this.text = this.text.slice(-MAX_TEXT);
    this.paintPanel();
    this.damage(this.panel);
  }

  /** Pointer motion; while a button is held the pointer paints a dot in that button's colour. */
  pointerEvent(buttonMask: number, x: number, y: number): void {
    if (buttonMask === 0) return;
    const colour = buttonMask & 1 ? 0xffd23f : buttonMask & 4 ? 0xee4266 : 0x3bceac;
    const r = 3;
    const x0 = Math.max(0, x - r);
    const y0 = Math.max(BAR_H, y - r);
    const x1 = Math.min(this.width, x + r + 1);
    const y1 = Math.min(this.height, y + r + 1);
    if (x0 >= x1 || y0 >= y1) return;
    for (let py = y0; py < y1; py++)
      this.pixels.fill(colour, py * this.width + x0, py * this.width + x1);
    this.damage({ x: x0, y: y0, w: x1 - x0, h: y1 - y0 });
  }

  private damage(rect: Rect): void {
    for (const fn of this.listeners) fn(rect);
  }

  private paintAll(): void {
    const { width, height, pixels } = this;
    for (let y = BAR_H; y < height; y++) {
      const t = (y - BAR_H) / Math.max(1, height - BAR_H);
      const r = Math.round(0x1b + (0x0b - 0x1b) * t);
      const g = Math.round(0x6f + (0x1d - 0x6f) * t);
      const b = Math.round(0x8c + (0x3a - 0x8c) * t);
      pixels.fill((r << 16) | (g << 8) | b, y * width, (y + 1) * width);
    }
    const hint = "type here; hold a mouse button to draw";
    drawText(pixels, width, height, 20, height - 24, hint, 0xd0e4ee, 2);
    this.paintBar();
    this.paintPanel();
  }

  private paintBar(): void {
    const { width, height, pixels } = this;
    pixels.fill(0x202830, 0, BAR_H * width);
    const clock = `${new Date().toISOString().slice(11, 19)}  #${this.frame}`;
    // The title gets the room the clock leaves; only a title that cannot fit is shortened,
    // and then visibly (an ellipsis), never cut mid-word without a sign.
    const room = Math.floor(
      (width - 16 - (clock.length + 2) * GLYPH_WIDTH * 2) / (GLYPH_WIDTH * 2),
    );
    drawText(pixels, width, height, 8, 7, fitText(this.title, room), 0xffffff, 2);
    drawText(
      pixels,
      width,
      height,
      width - 8 - clock.length * GLYPH_WIDTH * 2,
      7,
      clock,
      0x9fe870,
      2,
    );
  }

  private paintPanel(): void {
    if (this.panel.w <= 0 || this.panel.h <= 0) return;
    const { width, height, pixels, panel } = this;
    for (let y = panel.y; y < panel.y + panel.h; y++) {
      pixels.fill(0xf4f1de, y * width + panel.x, y * width + panel.x + panel.w);
    }
    const cols = Math.max(1, Math.floor((panel.w - 16) / (GLYPH_WIDTH * TEXT_SCALE)));
    const rows = Math.max(1, Math.floor((panel.h - 16) / (GLYPH_HEIGHT * TEXT_SCALE)));
    const lines: string[] = [];
    for (const para of this.text.split("\n")) {
      for (let i = 0; i < Math.max(1, para.length); i += cols) lines.push(para.slice(i, i + cols));
    }
    const visible = lines.slice(-rows);
    visible.forEach((line, i) => {
      const y = panel.y + 8 + i * GLYPH_HEIGHT * TEXT_SCALE;
      drawText(pixels, width, height, panel.x + 8, y, line, 0x22223b, TEXT_SCALE);
    });
  }
}

function sizeProblem(w: number, h: number): string | undefined {
  if (
    Number.isInteger(w) &&
    Number.isInteger(h) &&
    w >= MIN_SIZE.w &&
    h >= MIN_SIZE.h &&
    w <= MAX_SIZE.w &&
    h <= MAX_SIZE.h
  )
    return undefined;
  return `desktop size ${w}x${h} is outside ${MIN_SIZE.w}x${MIN_SIZE.h}..${MAX_SIZE.w}x${MAX_SIZE.h}`;
}

function panelFor(width: number, height: number): Rect {
  return { x: 20, y: BAR_H + 20, w: width - 40, h: Math.floor((height - BAR_H) * 0.4) };
}

/** `text` if it fits in `room` characters, else its start and "...". */
export function fitText(text: string, room: number): string {
  if (text.length <= room) return text;
  if (room <= 3) return "";
  return `${text.slice(0, room - 3).trimEnd()}...`;
}
