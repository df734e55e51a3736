/**
 * @file Minimal zip reader over a ByteSource: the central directory (zip64 included) and entry
 * data, stored or deflated. Reads only the ranges asked for, so a 2 GB checkpoint is never held whole.
 */
import { inflateSync } from "fflate";
import { UserError } from "../errors.js";
import type { ByteSource } from "./source.js";

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Offset of the local file header. */
  localOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOC64 = 0x07064b50;
const SIG_CEN = 0x02014b50;
const SIG_LOC = 0x04034b50;

function u64(v: DataView, at: number): number {
  return Number(v.getBigUint64(at, true));
}

/** True when the bytes start like a zip file (local header or empty archive). */
export function looksLikeZip(first4: Uint8Array): boolean {
  if (first4.byteLength < 4) return false;
  const v = new DataView(first4.buffer, first4.byteOffset, 4).getUint32(0, true);
  return v === SIG_LOC || v === SIG_EOCD;
}

/** Lists a zip's entries from its central directory. */
export function readZipDirectory(src: ByteSource): Map<string, ZipEntry> {
  const bad = (why: string): UserError => new UserError(`${src.name}: not a readable zip archive: ${why}`);
  const tailLen = Math.min(src.size, 22 + 65535 + 20);
  const tailStart = src.size - tailLen;
  const tail = src.read(tailStart, tailLen);
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) {
    if (tv.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw bad("no end-of-central-directory record (truncated download?)");
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || tv.getUint32(loc, true) !== SIG_LOC64) throw bad("zip64 locator missing");
    const e64Offset = u64(tv, loc + 8);
    if (e64Offset + 56 > src.size) throw bad(`zip64 end-of-central-directory record at ${e64Offset} is past the end of the file`);
    const e64 = src.read(e64Offset, 56);
    const ev = new DataView(e64.buffer, e64.byteOffset, 56);
    if (ev.getUint32(0, true) !== SIG_EOCD64) throw bad("zip64 end-of-central-directory record missing");
    count = u64(ev, 32);
    cdSize = u64(ev, 40);
    cdOffset = u64(ev, 48);
  }
  if (cdOffset + cdSize > src.size) throw bad(`central directory [${cdOffset}, +${cdSize}] past end of file (${src.size} bytes)`);
  const cd = src.read(cdOffset, cdSize);
  const v = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const dec = new TextDecoder();
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdSize || v.getUint32(p, true) !== SIG_CEN) throw bad(`central directory entry ${i} is corrupt`);
    const method = v.getUint16(p + 10, true);
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let localOffset = v.getUint32(p + 42, true);
    // found by the fuzz suite (torch-zip): lengths that run past the directory made DataView throw a RangeError
    if (p + 46 + nameLen + extraLen + commentLen > cdSize) throw bad(`central directory entry ${i} runs past the directory`);
    const name = dec.decode(cd.subarray(p + 46, p + 46 + nameLen));
    // zip64 extra field: the 0xffffffff fields, in this order
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = v.getUint16(x, true);
      const len = v.getUint16(x + 2, true);
      if (id === 0x0001) {
        let q = x + 4;
        const need = 8 * [size, compressedSize, localOffset].filter((f) => f === 0xffffffff).length;
        if (q + need > xEnd) throw bad(`central directory entry ${i} has a short zip64 extra field`);
        if (size === 0xffffffff) {
          size = u64(v, q);
          q += 8;
        }
        if (compressedSize === 0xffffffff) {
          compressedSize = u64(v, q);
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = u64(v, q);
      }
      x += 4 + len;
    }
    entries.set(name, { name, method, compressedSize, size, localOffset });
    p = xEnd + commentLen;
  }
  return entries;
}

/** An entry's (uncompressed) bytes. Stored entries from a file source come back aligned (fresh buffer). */
export function readZipEntry(src: ByteSource, e: ZipEntry): Uint8Array {
  if (e.localOffset + 30 > src.size) throw new UserError(`${src.name}: zip entry ${e.name} has its local header past the end of the file (truncated download?)`);
  const loc = src.read(e.localOffset, 30);
  const lv = new DataView(loc.buffer, loc.byteOffset, 30);
  if (lv.getUint32(0, true) !== SIG_LOC) throw new UserError(`${src.name}: zip entry ${e.name} has no local header`);
  const dataStart = e.localOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
  if (dataStart + e.compressedSize > src.size) {
    throw new UserError(`${src.name}: zip entry ${e.name} runs past the end of the file (truncated download?)`);
  }
  const raw = src.read(dataStart, e.compressedSize);
  if (e.method === 0) return raw;
  if (e.method === 8) {
    // deflate expands at most ~1032:1: a larger claimed size is a damaged directory or a bomb
    if (e.size > e.compressedSize * 1032 + 1024) throw new UserError(`${src.name}: zip entry ${e.name} claims ${e.size} bytes from ${e.compressedSize} compressed (corrupt or a zip bomb)`);
    let out: Uint8Array;
    try {
      out = inflateSync(raw, { out: new Uint8Array(e.size) });
    } catch (err) {
      // found by the fuzz suite (torch-zip): fflate's own errors escaped
      throw new UserError(`${src.name}: zip entry ${e.name} is corrupt (deflate: ${(err as Error).message})`);
    }
    if (out.byteLength !== e.size) throw new UserError(`${src.name}: zip entry ${e.name} inflated to ${out.byteLength} bytes, expected ${e.size}`);
    return out;
  }
  throw new UserError(`${src.name}: zip entry ${e.name} uses compression method ${e.method}; only stored and deflate are supported`);
}
