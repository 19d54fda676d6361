// A small PNG decoder (8-bit grey/RGB/RGBA, not interlaced: what Chromium's screenshots
// are) and a "not blank" measure, so that a screenshot is checked by its pixels without
// another package.
import zlib from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** RGB, 3 bytes a pixel. */
  rgb: Uint8Array;
}

export function decodePng(buf: Buffer): Image {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(sig)) throw new Error('not a PNG');
  let off = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colour = 0;
  let interlace = 0;
  const idat: Buffer[] = [];
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      colour = data[9];
      interlace = data[12];
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colour];
  if (depth !== 8 || !channels || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth}, colour type ${colour}, interlace ${interlace}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[row + x - channels] : 0;
      const b = y > 0 ? out[row - stride + x] : 0;
      const c = x >= channels && y > 0 ? out[row - stride + x - channels] : 0;
      let v = raw[src + x];
      switch (filter) {
        case 0:
          break;
        case 1:
          v += a;
          break;
        case 2:
          v += b;
          break;
        case 3:
          v += (a + b) >> 1;
          break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default:
          throw new Error(`bad PNG filter ${filter}`);
      }
      out[row + x] = v & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const p = i * channels;
    if (channels <= 2) rgb.fill(out[p], i * 3, i * 3 + 3);
    else {
      rgb[i * 3] = out[p];
      rgb[i * 3 + 1] = out[p + 1];
      rgb[i * 3 + 2] = out[p + 2];
    }
  }
  return { width, height, rgb };
}

export interface Blankness {
  width: number;
  height: number;
  /** Share of the pixels not of the most common colour. */
  nonBackground: number;
  /** Distinct colours (quantised to 5 bits a channel). */
  colours: number;
  /** Standard deviation of the luminance (0..255). */
  lumaStd: number;
}

export function measure(png: Buffer): Blankness {
  const { width, height, rgb } = decodePng(png);
  const counts = new Map<number, number>();
  let sum = 0;
  let sum2 = 0;
  const n = width * height;
  for (let i = 0; i < n; i++) {
    const r = rgb[i * 3];
    const g = rgb[i * 3 + 1];
    const b = rgb[i * 3 + 2];
    const key = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    sum += l;
    sum2 += l * l;
  }
  const top = Math.max(...counts.values());
  const mean = sum / n;
  return { width, height, nonBackground: 1 - top / n, colours: counts.size, lumaStd: Math.sqrt(Math.max(0, sum2 / n - mean * mean)) };
}

/** Throws unless the image has content: enough pixels off the background, colours, contrast. */
export function assertNotBlank(png: Buffer, what: string, min = { nonBackground: 0.01, colours: 4, lumaStd: 2 }): Blankness {
  const m = measure(png);
  const ok = m.nonBackground >= min.nonBackground && m.colours >= min.colours && m.lumaStd >= min.lumaStd;
  if (!ok) throw new Error(`${what} looks blank: ${JSON.stringify(m)} (needs ${JSON.stringify(min)})`);
  return m;
}
