/** @file Test helper: the captions of a WebDataset shard (KEY.json = {"captions": [...]}) from ../shared/datasets. */
import { readFileSync } from "node:fs";

/** Captions of every KEY.json in an uncompressed tar, in file order (ustar headers; pax records skipped). */
export function shardCaptions(tarPath: string): string[] {
  const tar = readFileSync(tarPath);
  const captions: string[] = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(header.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim() || "0", 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const body = tar.subarray(off + 512, off + 512 + size);
    if (type === "0" && name.endsWith(".json")) {
      const doc = JSON.parse(body.toString("utf8")) as { captions?: string[] };
      captions.push(...(doc.captions ?? []));
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return captions;
}
