/** @file A small streaming tar reader (ustar, GNU long names, pax) that reports truncation exactly, and a writer. */
import fs from "node:fs";

const BLOCK = 512;
/** Largest member we read into memory (a header claiming more is damage or a bomb, refused before reading). */
export const MAX_ENTRY_BYTES = 1 << 30;
/** Largest GNU long-name or pax extended header. */
const MAX_EXTENDED_BYTES = 1 << 20;

/** One regular file in a tar: its name, bytes, and byte range in the archive (headers included). */
export interface TarEntry {
  name: string;
  data: Uint8Array;
  /** Offset of the entry's first header (a GNU long-name or pax header when there is one). */
  start: number;
  /** Offset just after the entry's padded data: where the next header starts. */
  end: number;
}

/** Why a tar stream stopped early: the bytes ran out mid-entry, or a header is not a tar header. */
export class TarError extends Error {
  constructor(
    readonly kind: "truncated" | "corrupt",
    readonly offset: number,
    message: string,
    /** The entry whose header was read before its data ran out, when that is how it ended. */
    readonly entry?: string,
  ) {
    super(message);
    this.name = "TarError";
  }
}

/** Pulls exact byte counts out of a stream of chunks, copying only across chunk boundaries. */
class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private done = false;
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (!this.done && this.pos >= this.chunk.length) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        this.chunk = r.value;
        this.pos = 0;
      }
    }
    return this.pos < this.chunk.length;
  }

  /** Exactly n bytes, a fresh copy when `copy` (safe to keep), or fewer when the stream ends. */
  async read(n: number, copy: boolean): Promise<Uint8Array> {
    if (!(await this.fill())) return new Uint8Array(0);
    if (this.chunk.length - this.pos >= n) {
      const view = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      if (!copy) return view;
      const out = new Uint8Array(n); // a real copy (Buffer#slice would be a view pinning the whole chunk)
      out.set(view);
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n && (await this.fill())) {
      const take = Math.min(n - got, this.chunk.length - this.pos);
      out.set(this.chunk.subarray(this.pos, this.pos + take), got);
      this.pos += take;
      got += take;
    }
    return got === n ? out : out.subarray(0, got);
  }

  /** Skips n bytes; returns how many were skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0 && (await this.fill())) {
      const take = Math.min(left, this.chunk.length - this.pos);
      this.pos += take;
      left -= take;
    }
    return n - left;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/**
 * Reads the regular files of a tar stream in order. `baseOffset` is the archive offset where the
 * stream starts (a header boundary), so that entry offsets are absolute. Ends quietly at the
 * end-of-archive block; throws TarError when the bytes stop anywhere else (even between entries,
 * since the last sample read may be missing files) or a header is damaged.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, baseOffset = 0): AsyncGenerator<TarEntry> {
  const r = new ChunkReader(source);
  let offset = baseOffset;
  let longName: string | null = null;
  let paxPath: string | null = null;
  let paxSize: number | null = null;
  let entryStart = -1;
  try {
    while (true) {
      const header = await r.read(BLOCK, false);
      // every tar writer ends with zero blocks: bytes that stop without them were cut short
      if (header.length === 0) throw new TarError("truncated", offset, `stream ends at byte ${offset} without the end-of-archive marker`);
      if (header.length < BLOCK) throw new TarError("truncated", offset, `stream ends inside a header at byte ${offset}`);
      if (isZeroBlock(header)) return; // end-of-archive
      if (!checksumOk(header)) throw new TarError("corrupt", offset, `bad tar header checksum at byte ${offset}`);
      if (entryStart < 0) entryStart = offset;
      const type = String.fromCharCode(header[156]!);
      const size = paxSize ?? parseSize(header, offset);
      paxSize = null;
      const extended = type === "L" || type === "x" || type === "K" || type === "g";
      // found by the fuzz suite (tar: size=base256, pax size=1e20): sizes are checked before any allocation
      if (!Number.isSafeInteger(size) || size < 0 || size > (extended ? MAX_EXTENDED_BYTES : MAX_ENTRY_BYTES)) {
        throw new TarError("corrupt", offset, `tar header at byte ${offset} claims ${size} bytes, more than the ${extended ? MAX_EXTENDED_BYTES : MAX_ENTRY_BYTES} we read (damaged header or a bomb)`);
      }
      offset += BLOCK;
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (extended) {
        const body = await r.read(padded, false);
        if (body.length < padded) throw new TarError("truncated", offset, `stream ends inside an extended header at byte ${offset}`);
        offset += padded;
        const text = new TextDecoder().decode(body.subarray(0, size));
        if (type === "L") longName = text.replace(/\0+$/, "");
        if (type === "x") {
          const pax = parsePax(text);
          if (pax.path !== undefined) paxPath = pax.path;
          if (pax.size !== undefined) paxSize = pax.size;
        }
        continue; // K (long link) and g (global pax) carry nothing we use
      }
      const name = paxPath ?? longName ?? headerName(header);
      paxPath = null;
      longName = null;
      if (type === "0" || type === "\0" || type === "7") {
        const data = await r.read(size, true);
        if (data.length < size) throw new TarError("truncated", offset, `stream ends inside ${name} (${data.length} of ${size} bytes) at byte ${offset}`, name);
        const pad = padded - size;
        if (pad && (await r.skip(pad)) < pad) throw new TarError("truncated", offset + size, `stream ends inside the padding of ${name}`, name);
        offset += padded;
        yield { name, data, start: entryStart, end: offset };
      } else {
        // directories, links, devices: no data we use
        if ((await r.skip(padded)) < padded) throw new TarError("truncated", offset, `stream ends inside ${name}`);
        offset += padded;
      }
      entryStart = -1;
    }
  } finally {
    await r.close();
  }
}

function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function checksumOk(h: Uint8Array): boolean {
  const stored = parseOctal(h.subarray(148, 156));
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 32 : h[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  return stored === unsigned || stored === signed;
}

function parseOctal(field: Uint8Array): number {
  let s = "";
  for (const b of field) {
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  s = s.trim();
  return s ? parseInt(s, 8) : 0;
}

function parseSize(h: Uint8Array, offset: number): number {
  const field = h.subarray(124, 136);
  if (field[0]! & 0x80) {
    // GNU base-256 for sizes >= 8 GiB
    let v = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    return v;
  }
  const v = parseOctal(field);
  if (!Number.isFinite(v) || v < 0) throw new TarError("corrupt", offset, `bad size field in tar header at byte ${offset}`);
  return v;
}

const utf8 = new TextDecoder();

function cstring(b: Uint8Array): string {
  const end = b.indexOf(0);
  return utf8.decode(end < 0 ? b : b.subarray(0, end));
}

function headerName(h: Uint8Array): string {
  const name = cstring(h.subarray(0, 100));
  const ustar = cstring(h.subarray(257, 262)) === "ustar";
  const prefix = ustar ? cstring(h.subarray(345, 500)) : "";
  return prefix ? `${prefix}/${name}` : name;
}

function parsePax(text: string): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  const bytes = new TextEncoder().encode(text);
  let i = 0;
  while (i < bytes.length) {
    let j = i;
    while (j < bytes.length && bytes[j] !== 32) j++;
    const len = parseInt(utf8.decode(bytes.subarray(i, j)), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = utf8.decode(bytes.subarray(j + 1, i + len - 1));
    const eq = record.indexOf("=");
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === "path") out.path = value;
    if (key === "size") out.size = parseInt(value, 10);
    i += len;
  }
  return out;
}

// ---------------------------------------------------------------- writer

const enc = new TextEncoder();

function writeOctal(h: Uint8Array, off: number, len: number, v: number): void {
  const s = v.toString(8).padStart(len - 1, "0");
  for (let i = 0; i < len - 1; i++) h[off + i] = s.charCodeAt(i);
  h[off + len - 1] = 0;
}

/** One ustar header block (mtime 0, uid/gid 0, mode 0644: identical inputs give identical bytes). */
function makeHeader(name: Uint8Array, size: number, type: string): Uint8Array {
  const h = new Uint8Array(BLOCK);
  h.set(name.subarray(0, 100), 0);
  writeOctal(h, 100, 8, 0o644);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, 0);
  h[156] = type.charCodeAt(0);
  h.set(enc.encode("ustar\0"), 257);
  h.set(enc.encode("00"), 263);
  for (let i = 148; i < 156; i++) h[i] = 32;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  writeOctal(h, 148, 7, sum);
  h[155] = 32;
  return h;
}

/** Writes a tar file entry by entry (synchronously, through a 1 MiB buffer: few system calls). */
export class TarWriter {
  private readonly fd: number;
  private bytes = 0;
  private closed = false;
  private readonly buf = new Uint8Array(1 << 20);
  private used = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, "w");
  }

  get size(): number {
    return this.bytes;
  }

  add(name: string, data: Uint8Array): void {
    let nameBytes = enc.encode(name);
    if (nameBytes.length > 100) {
      // pax extended header carrying the long path
      const rec = (body: string): string => {
        let len = body.length + 3;
        for (;;) {
          const s = `${len} ${body}\n`;
          const n = enc.encode(s).length;
          if (n === len) return s;
          len = n;
        }
      };
      const pax = enc.encode(rec(`path=${name}`));
      this.write(makeHeader(enc.encode("PaxHeader"), pax.length, "x"));
      this.writePadded(pax);
      nameBytes = nameBytes.subarray(0, 100);
    }
    this.write(makeHeader(nameBytes, data.length, "0"));
    this.writePadded(data);
  }

  close(): void {
    if (this.closed) return;
    this.write(new Uint8Array(BLOCK * 2));
    this.flush();
    fs.closeSync(this.fd);
    this.closed = true;
  }

  private writePadded(data: Uint8Array): void {
    this.write(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) this.write(new Uint8Array(pad));
  }

  private write(b: Uint8Array): void {
    this.bytes += b.length;
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length > this.buf.length) {
      writeAll(this.fd, b);
      return;
    }
    this.buf.set(b, this.used);
    this.used += b.length;
  }

  private flush(): void {
    writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
}
