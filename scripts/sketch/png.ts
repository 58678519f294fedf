/**
 * Renders the sketches' SVG to PNG with resvg (its WebAssembly build: no native binary, the same pixels on
 * every machine) and the DejaVu fonts of the `dejavu-fonts-ttf` package (no system font is read, so a machine
 * without fonts renders the same image). resvg's own PNG is RGBA; this module re-encodes the pixels with a
 * palette (see `palette`) and zlib level 9, about a quarter of the size, and writes the hash of the SVG source
 * into a tEXt chunk, so a test can tell a stale PNG from the SVG alone.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { initWasm, Resvg } from '@resvg/resvg-wasm';

const require = createRequire(import.meta.url);

/** The tEXt keyword that holds the SHA-256 of the SVG a PNG was rendered from. */
export const SVG_HASH_KEY = 'mlwatch:svg-sha256';

const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSansMono.ttf', 'DejaVuSansMono-Bold.ttf'];

let ready: Promise<void> | undefined;
let fonts: Uint8Array[] | undefined;

function init(): Promise<void> {
  ready ??= initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
  return ready;
}

function fontBuffers(): Uint8Array[] {
  if (!fonts) {
    const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
    fonts = FONT_FILES.map((f) => new Uint8Array(readFileSync(join(dir, f))));
  }
  return fonts;
}

export function svgHash(svg: string): string {
  return createHash('sha256').update(svg).digest('hex');
}

/** Renders `svg` at its own size and returns the PNG (RGB, with the SVG's hash and `text` in tEXt chunks). */
export async function renderPng(svg: string, text: Record<string, string> = {}): Promise<Buffer> {
  await init();
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'original' },
    background: '#ffffff',
    font: {
      fontBuffers: fontBuffers(),
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
      monospaceFamily: 'DejaVu Sans Mono',
    },
  });
  const image = resvg.render();
  try {
    return encodePng(image.width, image.height, image.pixels, { ...text, [SVG_HASH_KEY]: svgHash(svg) });
  } finally {
    image.free();
    resvg.free();
  }
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * The image's colours as a palette of at most 256: all of them when they fit, else the 256 most frequent
 * (ties by colour value, so the result is deterministic), each other colour drawn as its nearest palette
 * colour. The sketches are flat fills and anti-aliased text, about 450 colours, the rare ones edge pixels of
 * glyphs: the change is invisible and the file a third of an RGB one.
 */
function palette(pixels: Uint8Array): { colours: number[]; index: Uint8Array } {
  const count = new Map<number, number>();
  const n = pixels.length >> 2;
  const rgb = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const c = ((pixels[i * 4] ?? 0) << 16) | ((pixels[i * 4 + 1] ?? 0) << 8) | (pixels[i * 4 + 2] ?? 0);
    rgb[i] = c;
    count.set(c, (count.get(c) ?? 0) + 1);
  }
  const colours = [...count.entries()]
    .sort(([a, na], [b, nb]) => nb - na || a - b)
    .slice(0, 256)
    .map(([c]) => c);
  const slot = new Map<number, number>(colours.map((c, i) => [c, i]));
  const nearest = (c: number): number => {
    let best = 0;
    let bestD = Number.POSITIVE_INFINITY;
    for (const [i, p] of colours.entries()) {
      const dr = ((c >> 16) & 255) - ((p >> 16) & 255);
      const dg = ((c >> 8) & 255) - ((p >> 8) & 255);
      const db = (c & 255) - (p & 255);
      const d = 3 * dr * dr + 4 * dg * dg + 2 * db * db;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  };
  const index = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = rgb[i] as number;
    let s = slot.get(c);
    if (s === undefined) {
      s = nearest(c);
      slot.set(c, s);
    }
    index[i] = s;
  }
  return { colours, index };
}

/** An indexed-colour PNG of RGBA `pixels` (alpha dropped: the sketches are opaque) with tEXt chunks. */
export function encodePng(
  width: number,
  height: number,
  pixels: Uint8Array,
  text: Record<string, string>,
): Buffer {
  const { colours, index } = palette(pixels);
  // Filter 0 (none) on every row: for indexed colour, differences of palette indices mean nothing.
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(index.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // colour type: indexed
  const plte = Buffer.alloc(colours.length * 3);
  for (const [i, c] of colours.entries()) {
    plte[i * 3] = (c >> 16) & 255;
    plte[i * 3 + 1] = (c >> 8) & 255;
    plte[i * 3 + 2] = c & 255;
  }
  const texts = Object.entries(text)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => chunk('tEXt', Buffer.from(`${k}\0${v}`, 'latin1')));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', plte),
    ...texts,
    chunk('IDAT', deflateSync(raw, { level: 9, memLevel: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Width, height and tEXt chunks of a PNG; throws on anything that is not a well-formed PNG. */
export function readPngInfo(png: Buffer): { width: number; height: number; text: Record<string, string> } {
  if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG signature');
  let at = 8;
  let width = -1;
  let height = -1;
  const text: Record<string, string> = {};
  while (at + 12 <= png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    if (crc32(png.subarray(at + 4, at + 8 + len)) >>> 0 !== png.readUInt32BE(at + 8 + len)) {
      throw new Error(`bad CRC in ${type} chunk`);
    }
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
    } else if (type === 'tEXt') {
      const nul = data.indexOf(0);
      text[data.toString('latin1', 0, nul)] = data.toString('latin1', nul + 1);
    } else if (type === 'IEND') {
      return { width, height, text };
    }
    at += 12 + len;
  }
  throw new Error('PNG has no IEND chunk');
}
