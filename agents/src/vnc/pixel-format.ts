/**
 * The RFB PIXEL_FORMAT structure and conversion from the server's 0xRRGGBB pixels to
 * whatever true-colour format a viewer asked for. noVNC and most viewers ask for 32 bpp
 * little-endian with shifts 16/8/0, which is the layout a Uint32Array already has in memory,
 * so that case is a plain copy.
 */

/** RFB PIXEL_FORMAT (RFC 6143 §7.4). */
export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/** 32 bpp, depth 24, little-endian, 0x00RRGGBB: what the server uses natively. */
export const NATIVE_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

/** Serialises to the 16-byte wire form. */
export function encodePixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(pf.bitsPerPixel, 0);
  b.writeUInt8(pf.depth, 1);
  b.writeUInt8(pf.bigEndian ? 1 : 0, 2);
  b.writeUInt8(pf.trueColour ? 1 : 0, 3);
  b.writeUInt16BE(pf.redMax, 4);
  b.writeUInt16BE(pf.greenMax, 6);
  b.writeUInt16BE(pf.blueMax, 8);
  b.writeUInt8(pf.redShift, 10);
  b.writeUInt8(pf.greenShift, 11);
  b.writeUInt8(pf.blueShift, 12);
  return b;
}

/** Parses the 16-byte wire form. */
export function decodePixelFormat(b: Buffer): PixelFormat {
  return {
    bitsPerPixel: b.readUInt8(0),
    depth: b.readUInt8(1),
    bigEndian: b.readUInt8(2) !== 0,
    trueColour: b.readUInt8(3) !== 0,
    redMax: b.readUInt16BE(4),
    greenMax: b.readUInt16BE(6),
    blueMax: b.readUInt16BE(8),
    redShift: b.readUInt8(10),
    greenShift: b.readUInt8(11),
    blueShift: b.readUInt8(12),
  };
}

/** Why a format cannot be served, or undefined when it can. Colour maps are not supported. */
export function unsupportedReason(pf: PixelFormat): string | undefined {
  if (![8, 16, 32].includes(pf.bitsPerPixel))
    return `bits-per-pixel ${pf.bitsPerPixel} is not 8, 16 or 32`;
  if (!pf.trueColour) return "colour-map pixel formats are not supported; ask for true colour";
  if (pf.redMax === 0 || pf.greenMax === 0 || pf.blueMax === 0)
    return "a colour max of 0 is not valid";
  return undefined;
}

function isNative(pf: PixelFormat): boolean {
  return (
    pf.bitsPerPixel === 32 &&
    !pf.bigEndian &&
    pf.redMax === 255 &&
    pf.greenMax === 255 &&
    pf.blueMax === 255 &&
    pf.redShift === 16 &&
    pf.greenShift === 8 &&
    pf.blueShift === 0
  );
}

/** Encodes a rectangle of 0xRRGGBB pixels as raw pixel data in the viewer's format. */
export function encodeRaw(
  src: Uint32Array,
  stride: number,
  x: number,
  y: number,
  w: number,
  h: number,
  pf: PixelFormat,
): Buffer {
  const bpp = pf.bitsPerPixel / 8;
  const out = Buffer.allocUnsafe(w * h * bpp);
  if (isNative(pf)) {
    const bytes = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
    for (let row = 0; row < h; row++) {
      const start = ((y + row) * stride + x) * 4;
      bytes.copy(out, row * w * 4, start, start + w * 4);
    }
    return out;
  }
  let off = 0;
  for (let row = 0; row < h; row++) {
    for (let col = 0; col < w; col++) {
      const p = src[(y + row) * stride + x + col] ?? 0;
      const r = Math.round((((p >> 16) & 0xff) * pf.redMax) / 255);
      const g = Math.round((((p >> 8) & 0xff) * pf.greenMax) / 255);
      const b = Math.round(((p & 0xff) * pf.blueMax) / 255);
      const v = ((r << pf.redShift) | (g << pf.greenShift) | (b << pf.blueShift)) >>> 0;
      if (bpp === 1) out.writeUInt8(v & 0xff, off);
      else if (bpp === 2)
        pf.bigEndian ? out.writeUInt16BE(v & 0xffff, off) : out.writeUInt16LE(v & 0xffff, off);
      else pf.bigEndian ? out.writeUInt32BE(v, off) : out.writeUInt32LE(v, off);
      off += bpp;
    }
  }
  return out;
}
