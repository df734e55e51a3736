/** @file Minimal reader for uncompressed tar shards (WebDataset): regular files with a given suffix. */
import { readFileSync } from "node:fs";

export interface TarEntry {
  name: string;
  data: Uint8Array;
}

/** Regular files of a ustar/GNU tar whose name ends with `suffix`, in archive order. */
export function readTar(path: string, suffix: string): TarEntry[] {
  const buf = new Uint8Array(readFileSync(path));
  const out: TarEntry[] = [];
  const text = (a: number, n: number) => {
    let e = a;
    while (e < a + n && buf[e] !== 0) e++;
    return Buffer.from(buf.subarray(a, e)).toString("utf8");
  };
  let pos = 0;
  while (pos + 512 <= buf.length) {
    if (buf[pos] === 0) break; // end-of-archive blocks
    const size = parseInt(text(pos + 124, 12).trim() || "0", 8);
    const type = buf[pos + 156];
    const prefix = text(pos + 345, 155);
    const name = (prefix ? prefix + "/" : "") + text(pos, 100);
    const start = pos + 512;
    if ((type === 0x30 || type === 0) && name.endsWith(suffix)) out.push({ name, data: buf.subarray(start, start + size) });
    pos = start + Math.ceil(size / 512) * 512;
  }
  return out;
}
