/**
 * A 5x7 bitmap font for printable ASCII, drawn by hand for the built-in demo desktop, so typed
 * keys show up as text without any font file or native library on the machine.
 */

// One glyph per printable ASCII character from 0x20, seven rows of five bits (bit 4 = left).
const GLYPHS = [
  "00000000000000",
  "04040404040004",
  "0a0a0a00000000",
  "0a0a1f0a1f0a0a",
  "040f140e051e04",
  "18190204081303",
  "0c12140815120d",
  "0c040800000000",
  "02040808080402",
  "08040202020408",
  "0004150e150400",
  "0004041f040400",
  "000000000c0408",
  "0000001f000000",
  "00000000000c0c",
  "00010204081000",
  "0e11131519110e",
  "040c040404040e",
  "0e11010204081f",
  "1f02040201110e",
  "02060a121f0202",
  "1f101e0101110e",
  "0608101e11110e",
  "1f010204080808",
  "0e11110e11110e",
  "0e11110f01020c",
  "000c0c000c0c00",
  "000c0c000c0408",
  "02040810080402",
  "00001f001f0000",
  "08040201020408",
  "0e110102040004",
  "0e11010d15150e",
  "0e1111111f1111",
  "1e11111e11111e",
  "0e11101010110e",
  "1c12111111121c",
  "1f10101e10101f",
  "1f10101e101010",
  "0e11101711110f",
  "1111111f111111",
  "0e04040404040e",
  "0702020202120c",
  "11121418141211",
  "1010101010101f",
  "111b1515111111",
  "11111915131111",
  "0e11111111110e",
  "1e11111e101010",
  "0e11111115120d",
  "1e11111e141211",
  "0f10100e01011e",
  "1f040404040404",
  "1111111111110e",
  "11111111110a04",
  "1111111515150a",
  "11110a040a1111",
  "1111110a040404",
  "1f01020408101f",
  "0e08080808080e",
  "00100804020100",
  "0e02020202020e",
  "040a1100000000",
  "0000000000001f",
  "08040200000000",
  "00000e010f110f",
  "1010161911111e",
  "00000e1010110e",
  "01010d1311110f",
  "00000e111f100e",
  "0609081c080808",
  "000f11110f010e",
  "10101619111111",
  "04000c0404040e",
  "0200060202120c",
  "10101214181412",
  "0c04040404040e",
  "00001a15151111",
  "00001619111111",
  "00000e1111110e",
  "00001e111e1010",
  "00000d130f0101",
  "00001619101010",
  "00000e100e011e",
  "08081c08080906",
  "0000111111130d",
  "00001111110a04",
  "0000111115150a",
  "0000110a040a11",
  "000011110f010e",
  "00001f0204081f",
  "02040408040402",
  "04040404040404",
  "08040402040408",
  "00000815020000",
];

/** Glyph cell size before scaling, including one column and one row of spacing. */
export const GLYPH_WIDTH = 6;
/** Line height before scaling: seven glyph rows plus one row of spacing. */
export const GLYPH_HEIGHT = 8;

/** The seven row bitmaps of a character; unknown characters draw as "?". */
export function glyph(ch: string): readonly number[] {
  const code = ch.charCodeAt(0);
  const hex = GLYPHS[code - 0x20] ?? GLYPHS[0x3f - 0x20] ?? "";
  const rows: number[] = [];
  for (let i = 0; i < 7; i++) rows.push(Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16) || 0);
  return rows;
}

/**
 * Draws `text` into a 0xRRGGBB framebuffer at (x, y), each font pixel as a `scale` square.
 * Clips at the buffer's edges, so callers need not measure first.
 */
export function drawText(
  fb: Uint32Array,
  width: number,
  height: number,
  x: number,
  y: number,
  text: string,
  color: number,
  scale = 1,
): void {
  let cx = x;
  for (const ch of text) {
    const rows = glyph(ch);
    for (let r = 0; r < 7; r++) {
      const bits = rows[r] ?? 0;
      for (let c = 0; c < 5; c++) {
        if (!(bits & (0x10 >> c))) continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + r * scale + dy;
          if (py < 0 || py >= height) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = cx + c * scale + dx;
            if (px >= 0 && px < width) fb[py * width + px] = color;
          }
        }
      }
    }
    cx += GLYPH_WIDTH * scale;
  }
}
