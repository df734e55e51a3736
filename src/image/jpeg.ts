/**
 * @file Baseline and progressive JPEG decoder, bit-exact with libjpeg-turbo's defaults (what PIL
 * and sharp use): the ISLOW integer IDCT (jidctint.c), "fancy" triangle upsampling of chroma
 * (jdsample.c h2v1 / h2v2 / h1v2) and the fixed-point YCbCr -> RGB tables (jdcolor.c).
 * It exists for speed: a call into libvips costs more than decoding a small JPEG in JS.
 * Files outside its scope (arithmetic coding, 12-bit, CMYK, unusual sampling, Adobe RGB) return
 * null so the caller can use another decoder. Pure TypeScript, no Node-only API.
 */
import { ImageFormatError, type RGBImage } from "./config.js";
import { scratchI16, scratchI32, scratchU8 } from "./scratch.js";

/** Zigzag position -> natural (row-major) coefficient index. */
const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
  // guard entries: corrupt runs past 63 land here (libjpeg does the same)
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
]);

const LOOKAHEAD = 11;
const PEEK_MASK = (1 << LOOKAHEAD) - 1;

interface Huffman {
  /** [1 << LOOKAHEAD]: (code length << 8) | symbol, or 0 when the code is longer. */
  lut: Uint16Array;
  /**
   * [1 << LOOKAHEAD] for AC tables: when code and value bits both fit in the lookahead,
   * (value << 16) | (run << 8) | total bits, else 0: one lookup per coefficient.
   */
  fast: Int32Array;
  /** libjpeg's maxcode / valoffset per length 1..17 for the slow path. */
  maxcode: Int32Array;
  valoffset: Int32Array;
  values: Uint8Array;
  /**
   * libjpeg's jpeg_make_d_derived_tbl checks, done when a scan uses the table: the codes fit
   * their lengths (`codesFit`), and a DC table's symbols are at most 15 (`dcSymbolsOk`).
   */
  codesFit: boolean;
  dcSymbolsOk: boolean;
}

/** Tables built per distinct DHT content: most files of a collection share the same few. */
const huffmanCache = new Map<number, { key: Uint8Array; table: Huffman }[]>();

function cachedHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  // FNV-1a over the table bytes; entries keep the bytes to rule out collisions
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ counts[i]!, 0x01000193);
  for (let i = 0; i < values.length; i++) h = Math.imul(h ^ values[i]!, 0x01000193);
  const bucket = huffmanCache.get(h);
  if (bucket) {
    for (const e of bucket) {
      const k = e.key;
      if (k.length !== 16 + values.length) continue;
      let same = true;
      for (let i = 0; i < 16 && same; i++) same = k[i] === counts[i];
      for (let i = 0; i < values.length && same; i++) same = k[16 + i] === values[i];
      if (same) return e.table;
    }
  }
  if (huffmanCache.size > 256) huffmanCache.clear();
  const key = new Uint8Array(16 + values.length);
  key.set(counts.subarray(0, 16));
  key.set(values, 16);
  const table = buildHuffman(counts, values);
  if (bucket) bucket.push({ key, table });
  else huffmanCache.set(h, [{ key, table }]);
  return table;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const lut = new Uint16Array(1 << LOOKAHEAD);
  const maxcode = new Int32Array(18).fill(-1);
  const valoffset = new Int32Array(18);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1]!;
    if (n) {
      valoffset[len] = k - code;
      for (let i = 0; i < n; i++, k++, code++) {
        if (len <= LOOKAHEAD) {
          const shift = LOOKAHEAD - len;
          const base = code << shift;
          for (let j = 0; j < 1 << shift; j++) lut[base + j] = (len << 8) | values[k]!;
        }
      }
      maxcode[len] = code - 1;
    }
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff; // sentinel: ends the slow search
  const fast = new Int32Array(1 << LOOKAHEAD);
  for (let peek = 0; peek < 1 << LOOKAHEAD; peek++) {
    const e = lut[peek]!;
    if (!e) continue;
    const len = e >> 8, rs = e & 255, sz = rs & 15;
    if (sz === 0 || len + sz > LOOKAHEAD) continue;
    const bits = (peek >> (LOOKAHEAD - len - sz)) & ((1 << sz) - 1);
    const value = bits < 1 << (sz - 1) ? bits - (1 << sz) + 1 : bits;
    fast[peek] = (value << 16) | ((rs >> 4) << 8) | (len + sz);
  }
  const vals = new Uint8Array(256);
  vals.set(values);
  // Figure C.2 as libjpeg checks it: after the codes of length L, the next code must fit in L bits
  let codesFit = true;
  for (let len = 1, c = 0; len <= 16; len++) {
    c += counts[len - 1]!;
    if (c >= 1 << len) codesFit = false;
    c <<= 1;
  }
  return { lut, fast, maxcode, valoffset, values: vals, codesFit, dcSymbolsOk: values.every((v) => v <= 15) };
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** Blocks that hold image data, and the MCU-padded allocation. */
  bw: number;
  bh: number;
  bwAlloc: number;
  bhAlloc: number;
  coeffs: Int16Array;
  /** Per block: 0 when only the DC coefficient can be nonzero (lets the IDCT take a shortcut). */
  last: Uint8Array;
  dcTable: Huffman | null;
  acTable: Huffman | null;
  pred: number;
}

/**
 * Entropy-coded data of one scan with the 0xFF00 stuffing removed and zero padding after it (a
 * marker inside the data ends it, and libjpeg reads zeros from there on), and after each restart
 * interval's data. `rst` holds the offsets where the data after each restart marker begins.
 */
interface ScanData {
  data: Uint8Array;
  length: number;
  rst: number[];
  /** Position in the file of the marker that ended the data. */
  end: number;
  truncated: boolean;
}

const PAD = 64;
/** Zeros after each restart interval's data: a decoder that runs out reads zeros, never the next interval. */
const RST_PAD = 16;

/** Segment i of a scan (the data before the i-th RST marker, or after the last) ends here in `data`. */
export function segmentEnd(s: ScanData, i: number): number {
  return i < s.rst.length ? s.rst[i]! - RST_PAD : s.length;
}

function extractScan(b: Uint8Array, start: number): ScanData {
  const n = b.length;
  let data = scratchU8("jpeg.scan", n - start + PAD);
  const rst: number[] = [];
  let o = 0;
  let p = start;
  for (;;) {
    // copy the plain bytes up to the next 0xFF quickly
    let q = b.indexOf(0xff, p);
    if (q < 0) q = n;
    if (o + (q - p) + RST_PAD + PAD > data.length) {
      // restart padding made the data outgrow the file's size: grow (rare: many RST markers)
      const bigger = new Uint8Array(Math.max(2 * data.length, o + (q - p) + RST_PAD + PAD));
      bigger.set(data.subarray(0, o));
      data = bigger;
    }
    data.set(b.subarray(p, q), o);
    o += q - p;
    p = q;
    if (p >= n - 1) {
      data.fill(0, o, o + PAD);
      return { data, length: o, rst, end: n, truncated: true };
    }
    const m = b[p + 1]!;
    if (m === 0) {
      data[o++] = 0xff;
      p += 2;
    } else if (m >= 0xd0 && m <= 0xd7) {
      // libjpeg stops each interval at its RST marker and reads zeros past it (insufficient data)
      data.fill(0, o, o + RST_PAD);
      o += RST_PAD;
      rst.push(o);
      p += 2;
    } else if (m === 0xff) {
      p++; // fill byte before a marker
    } else {
      data.fill(0, o, o + PAD);
      return { data, length: o, rst, end: p, truncated: false };
    }
  }
}

/** Bit reader over ScanData (used by progressive scans; baseline scans inline the same logic). */
class BitReader {
  pos = 0;
  buf = 0;
  cnt = 0;
  private nextRst = 0;
  /** End of the current restart interval's data; reads past it give zeros. */
  private segEnd: number;
  constructor(private readonly s: ScanData) {
    this.segEnd = segmentEnd(s, 0);
  }
  fill(): void {
    const d = this.s.data;
    while (this.cnt <= 24) {
      this.buf = (this.buf << 8) | d[this.pos++]!;
      this.cnt += 8;
    }
    if (this.pos > this.segEnd + 8) {
      if (this.s.truncated && this.segEnd === this.s.length) throw new ImageFormatError("image file is truncated");
      this.pos = this.segEnd + 8; // past a marker: zeros forever
    }
  }
  /** libjpeg's insufficient_data: a bit past the interval's data was used (MCUs are then left zero until the next restart). */
  exhausted(): boolean {
    return this.pos * 8 - this.cnt > this.segEnd * 8;
  }
  bits(n: number): number {
    if (this.cnt < n) this.fill();
    this.cnt -= n;
    return (this.buf >>> this.cnt) & ((1 << n) - 1);
  }
  bit(): number {
    if (this.cnt < 1) this.fill();
    this.cnt--;
    return (this.buf >>> this.cnt) & 1;
  }
  decode(h: Huffman): number {
    if (this.cnt < 17) this.fill();
    let e = h.lut[(this.buf >>> (this.cnt - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)]!;
    if (!e) e = slowDecode(h, this.buf, this.cnt);
    this.cnt -= e >> 8;
    return e & 255;
  }
  receiveExtend(s: number): number {
    const v = this.bits(s);
    return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
  }
  restart(): void {
    this.buf = 0;
    this.cnt = 0;
    // the n-th restart resumes after the n-th RST marker; a missing one reads zeros
    const r = this.s.rst;
    if (this.nextRst < r.length) {
      this.pos = r[this.nextRst++]!;
      this.segEnd = segmentEnd(this.s, this.nextRst);
    } else {
      this.pos = this.segEnd = this.s.length; // a missing marker: zeros (and no data) from here on
    }
  }
}

/**
 * Codes longer than LOOKAHEAD bits (jdhuff.c jpeg_huff_decode); at least 17 bits are buffered.
 * Returns (code length << 8) | symbol like the lookup table.
 */
function slowDecode(h: Huffman, buf: number, cnt: number): number {
  let len = LOOKAHEAD + 1;
  let code = (buf >>> (cnt - len)) & ((1 << len) - 1);
  while (code > h.maxcode[len]!) {
    len++;
    if (len > 16) return 17 << 8; // corrupt: libjpeg warns, returns symbol 0, and has used 17 bits
    code = (buf >>> (cnt - len)) & ((1 << len) - 1);
  }
  return (len << 8) | h.values[(code + h.valoffset[len]!) & 255]!;
}

interface Frame {
  width: number;
  height: number;
  progressive: boolean;
  comps: Component[];
  hmax: number;
  vmax: number;
  mcusX: number;
  mcusY: number;
}

/**
 * Decodes a JPEG to RGB (mode "RGB", or "L" for one component). Returns null when the file
 * uses a feature outside this decoder's scope; throws ImageFormatError on corrupt data. The
 * pixels go to `out` when given (at least W * H * 3 bytes), else to a new array.
 */
export function decodeJpeg(b: Uint8Array, maxPixels = Infinity, out?: Uint8Array, sink?: TensorSink): RGBImage | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw new ImageFormatError("not a JPEG file");
  const qt: (Int32Array | undefined)[] = [];
  const dcTables: (Huffman | undefined)[] = [];
  const acTables: (Huffman | undefined)[] = [];
  let frame: Frame | null = null;
  let restartInterval = 0;
  let adobeTransform = -1;
  let jfif = false;
  let pos = 2;
  let scans = 0;
  for (;;) {
    // find the next marker
    while (pos < b.length && b[pos] !== 0xff) pos++;
    while (pos < b.length && b[pos] === 0xff) pos++;
    if (pos >= b.length) {
      if (frame && scans > 0) break; // missing EOI after complete scans
      throw new ImageFormatError("image file is truncated");
    }
    const m = b[pos++]!;
    if (m === 0) continue; // a stuffed 0xFF 0x00 left after a scan's data
    if (m === 0xd9) break; // EOI
    // libjpeg refuses a second SOI (JERR_SOI_DUPLICATE) and ignores RSTn / TEM between segments
    if (m === 0xd8) throw new ImageFormatError("corrupt JPEG (two start-of-image markers)");
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01) continue;
    if (pos + 2 > b.length) throw new ImageFormatError("image file is truncated");
    const len = (b[pos]! << 8) | b[pos + 1]!;
    const end = pos + len;
    if (len < 2 || end > b.length) throw new ImageFormatError("image file is truncated");
    const seg = b.subarray(pos + 2, end);
    switch (m) {
      case 0xdb: { // DQT
        let p = 0;
        while (p < seg.length) {
          const pq = seg[p]! >> 4;
          const tq = seg[p]! & 15;
          p++;
          if (tq > 3) throw new ImageFormatError("corrupt JPEG quantization table");
          // libjpeg's get_dqt: a short last table keeps 1 for the entries it lacks
          const count = Math.min(64, pq ? (seg.length - p) >> 1 : seg.length - p);
          const t = new Int32Array(64).fill(1);
          for (let i = 0; i < count; i++) {
            t[ZIGZAG[i]!] = pq ? (seg[p + 2 * i]! << 8) | seg[p + 2 * i + 1]! : seg[p + i]!;
          }
          p += pq ? 2 * count : count;
          qt[tq] = t;
        }
        break;
      }
      case 0xc4: { // DHT
        let p = 0;
        while (p + 17 <= seg.length) {
          const tc = seg[p]! >> 4;
          const th = seg[p]! & 15;
          const counts = seg.subarray(p + 1, p + 17);
          let n = 0;
          for (let i = 0; i < 16; i++) n += counts[i]!;
          if (p + 17 + n > seg.length || th > 3 || tc > 1 || n > 256) throw new ImageFormatError("corrupt JPEG Huffman table");
          (tc === 0 ? dcTables : acTables)[th] = cachedHuffman(counts, seg.subarray(p + 17, p + 17 + n));
          p += 17 + n;
        }
        // libjpeg's get_dht: bytes left over after the last table are "Bogus marker length"
        if (p !== seg.length) throw new ImageFormatError("corrupt JPEG Huffman table (bad segment length)");
        break;
      }
      case 0xdd: // DRI
        if (seg.length !== 2) throw new ImageFormatError("corrupt JPEG (bad restart interval segment length)");
        restartInterval = (seg[0]! << 8) | seg[1]!;
        break;
      case 0xe0:
        if (seg.length >= 5 && seg[0] === 0x4a && seg[1] === 0x46 && seg[2] === 0x49 && seg[3] === 0x46 && seg[4] === 0) jfif = true;
        break;
      case 0xee:
        if (seg.length >= 12 && seg[0] === 0x41 && seg[1] === 0x64 && seg[2] === 0x6f && seg[3] === 0x62 && seg[4] === 0x65) {
          adobeTransform = seg[11]!;
        }
        break;
      case 0xc0: case 0xc1: case 0xc2: {
        if (frame) throw new ImageFormatError("corrupt JPEG (two frame headers)");
        if (seg[0] !== 8) return null; // 12-bit
        frame = readFrame(seg, m === 0xc2, maxPixels);
        if (!frame) return null;
        break;
      }
      case 0xda: { // SOS
        if (!frame) throw new ImageFormatError("corrupt JPEG (scan before frame header)");
        const ns = seg[0]!;
        const scomps: Component[] = [];
        for (let i = 0; i < ns; i++) {
          const c = frame.comps.find((k) => k.id === seg[1 + i * 2]);
          if (!c) throw new ImageFormatError("corrupt JPEG (scan names an unknown component)");
          const t = seg[2 + i * 2]!;
          c.dcTable = dcTables[t >> 4] ?? null;
          c.acTable = acTables[t & 15] ?? null;
          scomps.push(c);
        }
        const p = 1 + ns * 2;
        const ss = seg[p]!, se = seg[p + 1]!, ah = seg[p + 2]! >> 4, al = seg[p + 2]! & 15;
        pos = decodeScan(b, end, frame, scomps, restartInterval, ss, se, ah, al);
        scans++;
        continue;
      }
      default:
        // SOF3/5-7/9-15 (lossless, hierarchical, arithmetic), DNL: not ours
        if ((m >= 0xc3 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xdc) return null;
        break;
    }
    pos = end;
  }
  if (!frame) throw new ImageFormatError("corrupt JPEG (no frame header)");
  // found by the fuzz suite: an EOI before any scan gave a flat grey image; libjpeg: "missing SOS marker"
  if (scans === 0) throw new ImageFormatError("corrupt JPEG (no scan before the end-of-image marker)");
  for (const c of frame.comps) if (!qt[c.tq]) throw new ImageFormatError("corrupt JPEG (missing quantization table)");
  // libjpeg's colour space guess: JFIF or Adobe transform 1 (or no marker) means YCbCr
  if (frame.comps.length === 3) {
    if (adobeTransform === 0 && !jfif) return null;
    if (!jfif && adobeTransform < 0 && frame.comps[0]!.id === 0x52 && frame.comps[1]!.id === 0x47 && frame.comps[2]!.id === 0x42) return null;
  }
  const planes = frame.comps.map((c, ci) => idctComponent(c, qt[c.tq]!, ci));
  if (sink) {
    if (sink.x0 < 0 || sink.y0 < 0 || sink.x0 + sink.n > frame.width || sink.y0 + sink.n > frame.height) {
      throw new RangeError("decodeJpeg: tensor window outside the image");
    }
    writeTensor(frame, planes, sink);
    return { width: frame.width, height: frame.height, data: new Uint8Array(0), mode: frame.comps.length === 1 ? "L" : "RGB" };
  }
  const rgb = out ?? new Uint8Array(frame.width * frame.height * 3);
  if (rgb.length < frame.width * frame.height * 3) throw new RangeError("decodeJpeg: output buffer too small");
  if (frame.comps.length === 1) return toGray(frame, planes[0]!, rgb);
  return toRGB(frame, planes, rgb);
}

function readFrame(seg: Uint8Array, progressive: boolean, maxPixels: number): Frame | null {
  const height = (seg[1]! << 8) | seg[2]!;
  const width = (seg[3]! << 8) | seg[4]!;
  const n = seg[5]!;
  if (width === 0 || height === 0) throw new ImageFormatError(`zero-size image (${width}x${height})`);
  // libjpeg-turbo's JPEG_MAX_DIMENSION (found by the fuzz suite: we decoded what libjpeg refuses)
  if (width > 65500 || height > 65500) throw new ImageFormatError(`image is ${width}x${height}: a JPEG side may be at most 65500 pixels`);
  if (width * height > maxPixels) {
    throw new ImageFormatError(`image is ${width}x${height} = ${width * height} pixels, more than the limit of ${maxPixels} (maxPixels)`);
  }
  if (n !== 1 && n !== 3) return null; // CMYK / YCCK / odd counts
  if (seg.length < 6 + n * 3) throw new ImageFormatError("corrupt JPEG frame header");
  const comps: Component[] = [];
  for (let i = 0; i < n; i++) {
    const o = 6 + i * 3;
    const h = seg[o + 1]! >> 4, v = seg[o + 1]! & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) throw new ImageFormatError("corrupt JPEG sampling factors");
    comps.push({ id: seg[o]!, h, v, tq: seg[o + 2]!, bw: 0, bh: 0, bwAlloc: 0, bhAlloc: 0, coeffs: new Int16Array(0), last: new Uint8Array(0), dcTable: null, acTable: null, pred: 0 });
  }
  let hmax = 1, vmax = 1;
  for (const c of comps) {
    hmax = Math.max(hmax, c.h);
    vmax = Math.max(vmax, c.v);
  }
  if (n === 1) {
    comps[0]!.h = comps[0]!.v = hmax = vmax = 1; // a single component is never subsampled
  } else {
    // supported: luma at (hmax, vmax), chroma at full, half width, half height or both
    const [y, cb, cr] = comps as [Component, Component, Component];
    if (y.h !== hmax || y.v !== vmax || cb.h !== cr.h || cb.v !== cr.v) return null;
    const fx = hmax / cb.h, fy = vmax / cb.v;
    if (!((fx === 1 || fx === 2) && (fy === 1 || fy === 2)) || hmax % cb.h || vmax % cb.v) return null;
  }
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));
  for (const [ci, c] of comps.entries()) {
    c.bw = Math.ceil(Math.ceil((width * c.h) / hmax) / 8);
    c.bh = Math.ceil(Math.ceil((height * c.v) / vmax) / 8);
    c.bwAlloc = mcusX * c.h;
    c.bhAlloc = mcusY * c.v;
    c.coeffs = scratchI16(`jpeg.coeffs${ci}`, c.bwAlloc * c.bhAlloc * 64).fill(0);
    c.last = scratchU8(`jpeg.last${ci}`, c.bwAlloc * c.bhAlloc).fill(progressive ? 1 : 0); // refinement scans may add any coefficient
  }
  return { width, height, progressive, comps, hmax, vmax, mcusX, mcusY };
}

type BlockDecoder = (r: BitReader, c: Component, off: number) => void;

/** Decodes one scan; returns the file position of the marker after its data. */
function decodeScan(
  b: Uint8Array,
  start: number,
  f: Frame,
  scomps: Component[],
  restartInterval: number,
  ss: number,
  se: number,
  ah: number,
  al: number,
): number {
  const scan = extractScan(b, start);
  // the file ends inside the entropy-coded data: refuse it (as PIL does) rather than decode the
  // missing tail as zeros
  if (scan.truncated) throw new ImageFormatError("image file is truncated");
  // libjpeg's start_pass_phuff_decoder (JERR_BAD_PROGRESSION), found by the fuzz suite
  if (f.progressive) {
    const bad = (ss === 0 ? se !== 0 : ss > se || se > 63 || scomps.length !== 1) || (ah !== 0 && al !== ah - 1) || al > 13;
    if (bad) throw new ImageFormatError(`corrupt JPEG (invalid progressive parameters Ss=${ss} Se=${se} Ah=${ah} Al=${al})`);
  }
  for (const c of scomps) {
    c.pred = 0;
    const needDc = !f.progressive || (ss === 0 && ah === 0);
    const needAc = !f.progressive || ss > 0;
    if ((needDc && !c.dcTable) || (needAc && !c.acTable)) throw new ImageFormatError("corrupt JPEG (missing Huffman table)");
    // found by the fuzz suite (jpeg vs libvips, "Bogus Huffman table definition"): libjpeg refuses
    // a table whose codes overflow their lengths, or a DC table with symbols above 15, when a scan uses it
    if ((needDc && !(c.dcTable!.codesFit && c.dcTable!.dcSymbolsOk)) || (needAc && !c.acTable!.codesFit)) {
      throw new ImageFormatError("corrupt JPEG Huffman table");
    }
  }
  if (!f.progressive) {
    decodeBaseline(scan, f, scomps, restartInterval);
    return scan.end;
  }
  const r = new BitReader(scan);
  let eobrun = 0;
  let decodeBlock: BlockDecoder;
  if (ss === 0) {
    decodeBlock = ah === 0
      ? (rd, c, off) => {
          const t = rd.decode(c.dcTable!);
          c.pred += t ? rd.receiveExtend(t) : 0;
          c.coeffs[off] = c.pred * (1 << al);
        }
      : (rd, c, off) => {
          if (rd.bit()) c.coeffs[off] |= 1 << al;
        };
  } else if (ah === 0) {
    decodeBlock = (rd, c, off) => {
      if (eobrun > 0) {
        eobrun--;
        return;
      }
      const co = c.coeffs;
      const ac = c.acTable!;
      for (let k = ss; k <= se; ) {
        const rs = rd.decode(ac);
        const s = rs & 15;
        const run = rs >> 4;
        if (s) {
          k += run;
          co[off + ZIGZAG[k]!] = rd.receiveExtend(s) * (1 << al);
          k++;
        } else {
          if (run < 15) {
            eobrun = (1 << run) - 1;
            if (run) eobrun += rd.bits(run);
            break;
          }
          k += 16;
        }
      }
    };
  } else {
    // successive approximation refinement of AC coefficients (jdphuff.c decode_mcu_AC_refine)
    const p1 = 1 << al;
    const m1 = -1 << al;
    decodeBlock = (rd, c, off) => {
      const co = c.coeffs;
      const ac = c.acTable!;
      let k = ss;
      if (eobrun === 0) {
        for (; k <= se; k++) {
          const rs = rd.decode(ac);
          let run = rs >> 4;
          let s = rs & 15;
          if (s) {
            s = rd.bit() ? p1 : m1;
          } else if (run !== 15) {
            eobrun = 1 << run;
            if (run) eobrun += rd.bits(run);
            break;
          }
          do {
            const z = off + ZIGZAG[k]!;
            if (co[z] !== 0) {
              if (rd.bit() && (co[z]! & p1) === 0) co[z] += co[z]! >= 0 ? p1 : m1;
            } else if (--run < 0) {
              break;
            }
            k++;
          } while (k <= se);
          if (s) co[off + ZIGZAG[k]!] = s;
        }
      }
      if (eobrun > 0) {
        for (; k <= se; k++) {
          const z = off + ZIGZAG[k]!;
          if (co[z] !== 0 && rd.bit() && (co[z]! & p1) === 0) co[z] += co[z]! >= 0 ? p1 : m1;
        }
        eobrun--;
      }
    };
  }

  let todo = restartInterval;
  /** Starts an MCU; false when libjpeg would leave it zero (its interval ran out of data). */
  const restart = (): boolean => {
    if (restartInterval !== 0) {
      if (todo === 0) {
        r.restart();
        for (const c of scomps) c.pred = 0;
        eobrun = 0;
        todo = restartInterval;
      }
      todo--;
    }
    return !r.exhausted();
  };
  if (scomps.length === 1) {
    // non-interleaved: the component's own blocks in raster order, one block per MCU
    const c = scomps[0]!;
    for (let by = 0; by < c.bh; by++) {
      for (let bx = 0; bx < c.bw; bx++) {
        if (restart()) decodeBlock(r, c, (by * c.bwAlloc + bx) * 64);
      }
    }
  } else {
    for (let my = 0; my < f.mcusY; my++) {
      for (let mx = 0; mx < f.mcusX; mx++) {
        if (!restart()) continue;
        for (const c of scomps) {
          for (let v = 0; v < c.v; v++) {
            for (let h = 0; h < c.h; h++) {
              decodeBlock(r, c, ((my * c.v + v) * c.bwAlloc + mx * c.h + h) * 64);
            }
          }
        }
      }
    }
  }
  return scan.end;
}


/**
 * Sequential (baseline / extended) Huffman scan with the bit buffer in local variables: this
 * loop is most of the decoding time for typical photos.
 */
function decodeBaseline(scan: ScanData, f: Frame, scomps: Component[], restartInterval: number): void {
  const d = scan.data;
  const zz = ZIGZAG; // module constants read in hot loops are slower than locals in V8
  // the current restart interval's data ends at segEnd; reads past it give zeros (clamped at limit)
  let segEnd = segmentEnd(scan, 0);
  let limit = segEnd + 8;
  let lastSeg = segEnd === scan.length;
  let pos = 0, buf = 0, cnt = 0, nextRst = 0, todo = restartInterval;
  const nb = scomps.length;
  // blocks of one MCU: component index and block offset within the MCU row/col
  const mcuComp: number[] = [], mcuDy: number[] = [], mcuDx: number[] = [];
  for (let ci = 0; ci < nb; ci++) {
    const c = scomps[ci]!;
    const hv = nb === 1 ? 1 : c.h;
    const vv = nb === 1 ? 1 : c.v;
    for (let v = 0; v < vv; v++) for (let h = 0; h < hv; h++) { mcuComp.push(ci); mcuDy.push(v); mcuDx.push(h); }
  }
  const nBlocks = mcuComp.length;
  const mcusX = nb === 1 ? scomps[0]!.bw : f.mcusX;
  const mcusY = nb === 1 ? scomps[0]!.bh : f.mcusY;
  const preds = new Int32Array(nb);
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++) {
      if (restartInterval) {
        if (todo === 0) {
          buf = 0;
          cnt = 0;
          if (nextRst < scan.rst.length) {
            pos = scan.rst[nextRst++]!;
            segEnd = segmentEnd(scan, nextRst);
          } else {
            pos = segEnd = scan.length; // a missing marker: no data from here on
          }
          limit = segEnd + 8;
          lastSeg = segEnd === scan.length;
          preds.fill(0);
          todo = restartInterval;
        }
        todo--;
      }
      // libjpeg's insufficient_data: once a bit past the interval's data was used, the remaining
      // MCUs of the interval stay zero (flat grey) and the DC predictors keep their values
      if (pos * 8 - cnt > segEnd * 8) continue;
      for (let k = 0; k < nBlocks; k++) {
        const ci = mcuComp[k]!;
        const c = scomps[ci]!;
        const hv = nb === 1 ? 1 : c.h;
        const vv = nb === 1 ? 1 : c.v;
        const off = ((my * vv + mcuDy[k]!) * c.bwAlloc + mx * hv + mcuDx[k]!) * 64;
        const co = c.coeffs;
        // DC
        let h = c.dcTable!;
        if (cnt < 17) {
          if (cnt <= 16) { buf = (buf << 16) | (d[pos]! << 8) | d[pos + 1]!; pos += 2; cnt += 16; } if (cnt <= 24) { buf = (buf << 8) | d[pos++]!; cnt += 8; }
          if (pos > limit) { if (scan.truncated && lastSeg) throw new ImageFormatError("image file is truncated"); pos = limit; }
        }
        let e = h.lut[(buf >>> (cnt - LOOKAHEAD)) & PEEK_MASK]!;
        if (!e) e = slowDecode(h, buf, cnt);
        cnt -= e >> 8;
        const t = e & 255;
        if (t) {
          if (cnt < t) {
            if (cnt <= 16) { buf = (buf << 16) | (d[pos]! << 8) | d[pos + 1]!; pos += 2; cnt += 16; } if (cnt <= 24) { buf = (buf << 8) | d[pos++]!; cnt += 8; }
            if (pos > limit) { if (scan.truncated && lastSeg) throw new ImageFormatError("image file is truncated"); pos = limit; }
          }
          cnt -= t;
          const v = (buf >>> cnt) & ((1 << t) - 1);
          preds[ci] += v < 1 << (t - 1) ? v - (1 << t) + 1 : v;
        }
        co[off] = preds[ci]!;
        // AC
        h = c.acTable!;
        const lut = h.lut;
        const fast = h.fast;
        let any = 0;
        for (let z = 1; z < 64; ) {
          if (cnt < 17) {
            if (cnt <= 16) { buf = (buf << 16) | (d[pos]! << 8) | d[pos + 1]!; pos += 2; cnt += 16; } if (cnt <= 24) { buf = (buf << 8) | d[pos++]!; cnt += 8; }
            if (pos > limit) { if (scan.truncated && lastSeg) throw new ImageFormatError("image file is truncated"); pos = limit; }
          }
          const peek = (buf >>> (cnt - LOOKAHEAD)) & PEEK_MASK;
          const fa = fast[peek]!;
          if (fa) {
            cnt -= fa & 255;
            z += (fa >> 8) & 255;
            co[off + zz[z]!] = fa >> 16;
            any = 1;
            z++;
            continue;
          }
          e = lut[peek]!;
          if (!e) e = slowDecode(h, buf, cnt);
          cnt -= e >> 8;
          const rs = e & 255;
          const sz = rs & 15;
          if (sz) {
            z += rs >> 4;
            if (cnt < sz) {
              if (cnt <= 16) { buf = (buf << 16) | (d[pos]! << 8) | d[pos + 1]!; pos += 2; cnt += 16; } if (cnt <= 24) { buf = (buf << 8) | d[pos++]!; cnt += 8; }
              if (pos > limit) { if (scan.truncated && lastSeg) throw new ImageFormatError("image file is truncated"); pos = limit; }
            }
            cnt -= sz;
            const v = (buf >>> cnt) & ((1 << sz) - 1);
            co[off + zz[z]!] = v < 1 << (sz - 1) ? v - (1 << sz) + 1 : v;
            any = 1;
            z++;
          } else {
            if (rs !== 0xf0) break;
            z += 16;
          }
        }
        c.last[off >> 6] = any;
      }
    }
  }
}


/**
 * libjpeg's output range limiting after the IDCT: index (value & 1023) where values 0..127 map
 * to 128..255, 128..511 to 255, 512..895 to 0, 896..1023 to 0..127 (centred at 128).
 */
const IDCT_LIMIT = (() => {
  const t = new Uint8Array(1024);
  for (let j = 0; j < 1024; j++) t[j] = j < 128 ? j + 128 : j < 512 ? 255 : j < 896 ? 0 : j - 896;
  return t;
})();

/** ISLOW IDCT of every block of a component into an 8-bit plane (bwAlloc * 8 wide). */
function idctComponent(c: Component, q: Int32Array, ci: number): Uint8Array {
  const stride = c.bwAlloc * 8;
  const out = scratchU8(`jpeg.plane${ci}`, stride * c.bhAlloc * 8);
  const ws = scratchI32("jpeg.ws", 64);
  const co = c.coeffs;
  const lim = IDCT_LIMIT;
  const imul = Math.imul;
  const q0 = q[0]!;
  // jidctint.c constants (CONST_BITS = 13), local so the JIT sees them as constants
  const F0298 = 2446, F0390 = 3196, F0541 = 4433, F0765 = 6270, F0899 = 7373, F1175 = 9633;
  const F1501 = 12299, F1847 = 15137, F1961 = 16069, F2053 = 16819, F2562 = 20995, F3072 = 25172;
  // blocks below/right of the image data are never read afterwards
  for (let by = 0; by < c.bh; by++) {
    for (let bx = 0; bx < c.bw; bx++) {
      const off = (by * c.bwAlloc + bx) * 64;
      let o = by * 8 * stride + bx * 8;
      if (c.last[by * c.bwAlloc + bx] === 0) {
        // only DC: both passes reduce to one value (the C code's zero shortcuts, exactly)
        const v = lim[((imul(co[off]!, q0) << 2) + 16 >> 5) & 1023]!;
        for (let r = 0; r < 8; r++, o += stride) out.fill(v, o, o + 8);
        continue;
      }
      // pass 1: columns, DESCALE by CONST_BITS - PASS1_BITS = 11
      for (let col = 0; col < 8; col++) {
        const i = off + col;
        const c1 = co[i + 8]!, c2 = co[i + 16]!, c3 = co[i + 24]!, c4 = co[i + 32]!;
        const c5 = co[i + 40]!, c6 = co[i + 48]!, c7 = co[i + 56]!;
        if ((c1 | c2 | c3 | c4 | c5 | c6 | c7) === 0) {
          const dc = imul(co[i]!, q[col]!) << 2;
          ws[col] = ws[col + 8] = ws[col + 16] = ws[col + 24] = ws[col + 32] = ws[col + 40] = ws[col + 48] = ws[col + 56] = dc;
          continue;
        }
        let z2 = imul(c2, q[col + 16]!);
        let z3 = imul(c6, q[col + 48]!);
        let z1 = imul(z2 + z3, F0541);
        let tmp2 = z1 - imul(z3, F1847);
        let tmp3 = z1 + imul(z2, F0765);
        z2 = imul(co[i]!, q[col]!);
        z3 = imul(c4, q[col + 32]!);
        let tmp0 = (z2 + z3) << 13;
        let tmp1 = (z2 - z3) << 13;
        const tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
        tmp0 = imul(c7, q[col + 56]!);
        tmp1 = imul(c5, q[col + 40]!);
        tmp2 = imul(c3, q[col + 24]!);
        tmp3 = imul(c1, q[col + 8]!);
        z1 = tmp0 + tmp3;
        z2 = tmp1 + tmp2;
        z3 = tmp0 + tmp2;
        let z4 = tmp1 + tmp3;
        const z5 = imul(z3 + z4, F1175);
        tmp0 = imul(tmp0, F0298);
        tmp1 = imul(tmp1, F2053);
        tmp2 = imul(tmp2, F3072);
        tmp3 = imul(tmp3, F1501);
        z1 = imul(z1, -F0899);
        z2 = imul(z2, -F2562);
        z3 = imul(z3, -F1961) + z5;
        z4 = imul(z4, -F0390) + z5;
        tmp0 += z1 + z3;
        tmp1 += z2 + z4;
        tmp2 += z2 + z3;
        tmp3 += z1 + z4;
        ws[col] = (tmp10 + tmp3 + 1024) >> 11;
        ws[col + 56] = (tmp10 - tmp3 + 1024) >> 11;
        ws[col + 8] = (tmp11 + tmp2 + 1024) >> 11;
        ws[col + 48] = (tmp11 - tmp2 + 1024) >> 11;
        ws[col + 16] = (tmp12 + tmp1 + 1024) >> 11;
        ws[col + 40] = (tmp12 - tmp1 + 1024) >> 11;
        ws[col + 24] = (tmp13 + tmp0 + 1024) >> 11;
        ws[col + 32] = (tmp13 - tmp0 + 1024) >> 11;
      }
      // pass 2: rows, DESCALE by CONST_BITS + PASS1_BITS + 3 = 18
      for (let row = 0; row < 64; row += 8, o += stride) {
        const w0 = ws[row]!, w1 = ws[row + 1]!, w2 = ws[row + 2]!, w3 = ws[row + 3]!, w4 = ws[row + 4]!;
        const w5 = ws[row + 5]!, w6 = ws[row + 6]!, w7 = ws[row + 7]!;
        if ((w1 | w2 | w3 | w4 | w5 | w6 | w7) === 0) {
          out.fill(lim[((w0 + 16) >> 5) & 1023]!, o, o + 8);
          continue;
        }
        let z1 = imul(w2 + w6, F0541);
        const tmp2e = z1 - imul(w6, F1847);
        const tmp3e = z1 + imul(w2, F0765);
        const tmp0e = (w0 + w4) << 13;
        const tmp1e = (w0 - w4) << 13;
        const tmp10 = tmp0e + tmp3e, tmp13 = tmp0e - tmp3e, tmp11 = tmp1e + tmp2e, tmp12 = tmp1e - tmp2e;
        z1 = w7 + w1;
        let z2 = w5 + w3;
        let z3 = w7 + w3;
        let z4 = w5 + w1;
        const z5 = imul(z3 + z4, F1175);
        let tmp0 = imul(w7, F0298);
        let tmp1 = imul(w5, F2053);
        let tmp2 = imul(w3, F3072);
        let tmp3 = imul(w1, F1501);
        z1 = imul(z1, -F0899);
        z2 = imul(z2, -F2562);
        z3 = imul(z3, -F1961) + z5;
        z4 = imul(z4, -F0390) + z5;
        tmp0 += z1 + z3;
        tmp1 += z2 + z4;
        tmp2 += z2 + z3;
        tmp3 += z1 + z4;
        out[o] = lim[((tmp10 + tmp3 + 131072) >> 18) & 1023]!;
        out[o + 7] = lim[((tmp10 - tmp3 + 131072) >> 18) & 1023]!;
        out[o + 1] = lim[((tmp11 + tmp2 + 131072) >> 18) & 1023]!;
        out[o + 6] = lim[((tmp11 - tmp2 + 131072) >> 18) & 1023]!;
        out[o + 2] = lim[((tmp12 + tmp1 + 131072) >> 18) & 1023]!;
        out[o + 5] = lim[((tmp12 - tmp1 + 131072) >> 18) & 1023]!;
        out[o + 3] = lim[((tmp13 + tmp0 + 131072) >> 18) & 1023]!;
        out[o + 4] = lim[((tmp13 - tmp0 + 131072) >> 18) & 1023]!;
      }
    }
  }
  return out;
}

function toGray(f: Frame, plane: Uint8Array, out: Uint8Array): RGBImage {
  const { width, height } = f;
  const stride = f.comps[0]!.bwAlloc * 8;
  const rgb = out.subarray(0, width * height * 3);
  for (let y = 0, o = 0; y < height; y++) {
    const r = y * stride;
    for (let x = 0; x < width; x++, o += 3) rgb[o] = rgb[o + 1] = rgb[o + 2] = plane[r + x]!;
  }
  return { width, height, data: rgb, mode: "L" };
}

// jdcolor.c build_ycc_rgb_table (SCALEBITS 16)
const CR_R = new Int32Array(256), CB_B = new Int32Array(256), CR_G = new Int32Array(256), CB_G = new Int32Array(256);
{
  const fix = (x: number) => Math.floor(x * 65536 + 0.5);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    CR_R[i] = (fix(1.402) * x + 32768) >> 16;
    CB_B[i] = (fix(1.772) * x + 32768) >> 16;
    CR_G[i] = -fix(0.71414) * x;
    CB_G[i] = -fix(0.34414) * x + 32768;
  }
}

/** Clamp to 0..255 by table: CLAMP[v + 384] for v in -384..639. */
const CLAMP = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) t[i] = Math.max(0, Math.min(255, i - 384));
  return t;
})();

/**
 * One full-resolution row of an upsampled chroma plane, as libjpeg-turbo's fancy upsamplers
 * compute it: triangle filters with their biases, edges replicated from the last real row and
 * column; planes at most 2 samples wide are replicated (the fancy paths need more columns).
 */
function chromaRow(f: Frame, c: Component, plane: Uint8Array, y: number, out: Uint8Array, colsum: Int32Array): void {
  const stride = c.bwAlloc * 8;
  const fx = f.hmax / c.h;
  const fy = f.vmax / c.v;
  const width = f.width;
  const dw = Math.ceil((width * c.h) / f.hmax); // downsampled_width
  const dh = Math.ceil((f.height * c.v) / f.vmax);
  if (fy === 1) {
    const r = y * stride;
    if (fx === 1) {
      out.set(plane.subarray(r, r + width));
    } else if (dw <= 2) {
      for (let x = 0; x < width; x++) out[x] = plane[r + (x >> 1)]!;
    } else {
      // h2v1: (3 * near + far + 1 or 2) >> 2
      for (let i = 0, x = 0; x < width; i++, x += 2) {
        const t = plane[r + i]! * 3;
        out[x] = (t + plane[r + (i > 0 ? i - 1 : 0)]! + 1) >> 2;
        if (x + 1 < width) out[x + 1] = (t + plane[r + (i + 1 < dw ? i + 1 : dw - 1)]! + 2) >> 2;
      }
    }
    return;
  }
  // vertical 2x: the nearer row weighs 3, the other 1
  const k = y >> 1;
  const r0 = k * stride;
  const r1 = (y & 1 ? Math.min(k + 1, dh - 1) : Math.max(k - 1, 0)) * stride;
  if (fx === 1) {
    const bias = y & 1 ? 2 : 1; // h1v2
    for (let x = 0; x < width; x++) out[x] = (plane[r0 + x]! * 3 + plane[r1 + x]! + bias) >> 2;
    return;
  }
  if (dw <= 2) {
    for (let x = 0; x < width; x++) out[x] = plane[r0 + (x >> 1)]!;
    return;
  }
  // h2v2: column sums, then (3 * near + far + 8 or 7) >> 4
  for (let i = 0; i < dw; i++) colsum[i + 1] = plane[r0 + i]! * 3 + plane[r1 + i]!;
  colsum[0] = colsum[1]!; // edges replicate the last real column
  colsum[dw + 1] = colsum[dw]!;
  const pairs = width >> 1;
  for (let i = 0, x = 0; i < pairs; i++, x += 2) {
    const t = colsum[i + 1]! * 3;
    out[x] = (t + colsum[i]! + 8) >> 4;
    out[x + 1] = (t + colsum[i + 2]! + 7) >> 4;
  }
  if (width & 1) out[width - 1] = (colsum[pairs + 1]! * 3 + colsum[pairs]! + 8) >> 4;
}

/**
 * Where decodeJpeg can write a normalized [3, n, n] tensor directly (the preprocessing is a pure
 * crop: no resize): the n x n window at (x0, y0), through lut (normalizeLut), into out at offset.
 */
export interface TensorSink {
  x0: number;
  y0: number;
  n: number;
  lut: Float32Array;
  out: Float32Array;
  offset: number;
}

/** lut (3 x 256) widened to 3 x 1024 with libjpeg's clamping folded in: [c * 1024 + v + 384]. */
const clampedLuts = new WeakMap<Float32Array, Float32Array>();
function clampedLut(lut: Float32Array): Float32Array {
  let t = clampedLuts.get(lut);
  if (!t) {
    t = new Float32Array(3 * 1024);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 1024; i++) t[c * 1024 + i] = lut[c * 256 + CLAMP[i]!]!;
    clampedLuts.set(lut, t);
  }
  return t;
}

/** Colour conversion of the sink's window straight to normalized floats (skips the RGB image). */
function writeTensor(f: Frame, planes: Uint8Array[], sink: TensorSink): void {
  const { x0, y0, n, lut, out, offset } = sink;
  const plane = n * n;
  const ys = f.comps[0]!.bwAlloc * 8;
  const yp = planes[0]!;
  if (f.comps.length === 1) {
    for (let y = 0; y < n; y++) {
      const r = (y0 + y) * ys + x0;
      const o = offset + y * n;
      for (let x = 0; x < n; x++) {
        const v = yp[r + x]!;
        out[o + x] = lut[v]!;
        out[o + plane + x] = lut[256 + v]!;
        out[o + 2 * plane + x] = lut[512 + v]!;
      }
    }
    return;
  }
  const lr = clampedLut(lut);
  const lg = lr.subarray(1024), lb = lr.subarray(2048);
  const width = f.width;
  const cb0 = f.comps[1]!;
  if (f.hmax / cb0.h === 2 && f.vmax / cb0.v === 2 && f.comps[2]!.h === cb0.h && Math.ceil((width * cb0.h) / f.hmax) > 2) {
    writeTensor420(f, planes, sink, lr, lg, lb);
    return;
  }
  const cbRow = scratchU8("jpeg.cbRow", width), crRow = scratchU8("jpeg.crRow", width);
  const colsum = scratchI32("jpeg.colsum", width + 2);
  const cbC = f.comps[1]!, crC = f.comps[2]!;
  const crr = CR_R, cbg = CB_G, crg = CR_G, cbb = CB_B;
  for (let y = 0; y < n; y++) {
    chromaRow(f, cbC, planes[1]!, y0 + y, cbRow, colsum);
    chromaRow(f, crC, planes[2]!, y0 + y, crRow, colsum);
    const yr = (y0 + y) * ys;
    let o0 = offset + y * n, o1 = o0 + plane, o2 = o1 + plane;
    const xe = x0 + n;
    for (let x = x0; x < xe; x++) {
      const Y = yp[yr + x]! + 384;
      const B = cbRow[x]!;
      const R = crRow[x]!;
      out[o0++] = lr[Y + crr[R]!]!;
      out[o1++] = lg[Y + ((cbg[B]! + crg[R]!) >> 16)]!;
      out[o2++] = lb[Y + cbb[B]!]!;
    }
  }
}

/**
 * writeTensor for 4:2:0 with fancy upsampling, the common photo layout: the h2v2 triangle
 * filter is evaluated inside the colour loop from per-row column sums (same arithmetic as
 * chromaRow, without the intermediate rows).
 */
function writeTensor420(f: Frame, planes: Uint8Array[], sink: TensorSink, lr: Float32Array, lg: Float32Array, lb: Float32Array): void {
  const { x0, y0, n, out, offset } = sink;
  const plane = n * n;
  const ys = f.comps[0]!.bwAlloc * 8;
  const cs = f.comps[1]!.bwAlloc * 8;
  const yp = planes[0]!, cbp = planes[1]!, crp = planes[2]!;
  const dw = Math.ceil(f.width / 2);
  const dh = Math.ceil(f.height / 2);
  // column sums with one replicated column on each side: index i + 1 holds column i
  const sb = scratchI32("jpeg.sumCb", dw + 2), sr = scratchI32("jpeg.sumCr", dw + 2);
  const crr = CR_R, cbg = CB_G, crg = CR_G, cbb = CB_B;
  const xe = x0 + n;
  for (let y = 0; y < n; y++) {
    const yy = y0 + y;
    const k = yy >> 1;
    const r0 = k * cs;
    const r1 = (yy & 1 ? (k + 1 < dh ? k + 1 : dh - 1) : k > 0 ? k - 1 : 0) * cs;
    for (let i = 0; i < dw; i++) {
      sb[i + 1] = cbp[r0 + i]! * 3 + cbp[r1 + i]!;
      sr[i + 1] = crp[r0 + i]! * 3 + crp[r1 + i]!;
    }
    sb[0] = sb[1]!;
    sr[0] = sr[1]!;
    sb[dw + 1] = sb[dw]!;
    sr[dw + 1] = sr[dw]!;
    const yr = yy * ys;
    const o = offset + y * n - x0;
    // pixels 2i and 2i+1 share chroma column i: even ones lean left (bias 8), odd ones right
    // (bias 7), as jdsample.c h2v2_fancy_upsample; window edges on odd x go one by one
    let x = x0;
    if (x & 1) {
      const i = (x >> 1) + 1;
      const B = (sb[i]! * 3 + sb[i + 1]! + 7) >> 4;
      const R = (sr[i]! * 3 + sr[i + 1]! + 7) >> 4;
      const Y = yp[yr + x]! + 384;
      out[o + x] = lr[Y + crr[R]!]!;
      out[o + plane + x] = lg[Y + ((cbg[B]! + crg[R]!) >> 16)]!;
      out[o + 2 * plane + x] = lb[Y + cbb[B]!]!;
      x++;
    }
    const o1 = o + plane, o2 = o + 2 * plane;
    for (; x + 1 < xe; x += 2) {
      const i = (x >> 1) + 1;
      const b3 = sb[i]! * 3, r3 = sr[i]! * 3;
      let B = (b3 + sb[i - 1]! + 8) >> 4;
      let R = (r3 + sr[i - 1]! + 8) >> 4;
      let Y = yp[yr + x]! + 384;
      out[o + x] = lr[Y + crr[R]!]!;
      out[o1 + x] = lg[Y + ((cbg[B]! + crg[R]!) >> 16)]!;
      out[o2 + x] = lb[Y + cbb[B]!]!;
      B = (b3 + sb[i + 1]! + 7) >> 4;
      R = (r3 + sr[i + 1]! + 7) >> 4;
      Y = yp[yr + x + 1]! + 384;
      out[o + x + 1] = lr[Y + crr[R]!]!;
      out[o1 + x + 1] = lg[Y + ((cbg[B]! + crg[R]!) >> 16)]!;
      out[o2 + x + 1] = lb[Y + cbb[B]!]!;
    }
    if (x < xe) {
      const i = (x >> 1) + 1;
      const B = (sb[i]! * 3 + sb[i - 1]! + 8) >> 4;
      const R = (sr[i]! * 3 + sr[i - 1]! + 8) >> 4;
      const Y = yp[yr + x]! + 384;
      out[o + x] = lr[Y + crr[R]!]!;
      out[o1 + x] = lg[Y + ((cbg[B]! + crg[R]!) >> 16)]!;
      out[o2 + x] = lb[Y + cbb[B]!]!;
    }
  }
}

function toRGB(f: Frame, planes: Uint8Array[], out: Uint8Array): RGBImage {
  const { width, height } = f;
  const ys = f.comps[0]!.bwAlloc * 8;
  const yp = planes[0]!;
  const rgb = out.subarray(0, width * height * 3);
  const cbRow = scratchU8("jpeg.cbRow", width), crRow = scratchU8("jpeg.crRow", width);
  const colsum = scratchI32("jpeg.colsum", width + 2);
  const cbC = f.comps[1]!, crC = f.comps[2]!;
  const crr = CR_R, cbg = CB_G, crg = CR_G, cbb = CB_B, clamp = CLAMP;
  for (let y = 0, o = 0; y < height; y++) {
    chromaRow(f, cbC, planes[1]!, y, cbRow, colsum);
    chromaRow(f, crC, planes[2]!, y, crRow, colsum);
    const yr = y * ys;
    for (let x = 0; x < width; x++, o += 3) {
      const Y = yp[yr + x]! + 384;
      const B = cbRow[x]!;
      const R = crRow[x]!;
      rgb[o] = clamp[Y + crr[R]!]!;
      rgb[o + 1] = clamp[Y + ((cbg[B]! + crg[R]!) >> 16)]!;
      rgb[o + 2] = clamp[Y + cbb[B]!]!;
    }
  }
  return { width, height, data: rgb, mode: "RGB" };
}
