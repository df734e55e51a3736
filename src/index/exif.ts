/**
 * @file The EXIF fields the index keeps for filtering: camera (Make + Model) and the date a photo
 * was taken (DateTimeOriginal, else DateTime), read from the raw EXIF block (a TIFF structure)
 * that sharp returns with the image's metadata. Unknown or broken EXIF gives nulls, never an error.
 */
import sharp from "sharp";
import { sniffFormat } from "../image/decode.js";

/** What the index keeps from EXIF. */
export interface ExifFields {
  /** "Make Model" (the model alone when it already names the make), or null. */
  camera: string | null;
  /** "YYYY-MM-DD HH:MM:SS" as the camera wrote it (local time), or null: sorts and compares as text. */
  taken: string | null;
}

const NONE: ExifFields = { camera: null, taken: null };

/** Reads ASCII tags of one IFD (and the Exif sub-IFD pointer). */
function readIfd(dv: DataView, base: number, at: number, le: boolean, out: Map<number, string | number>): void {
  if (at + 2 > dv.byteLength) return;
  const n = dv.getUint16(at, le);
  for (let i = 0; i < n; i++) {
    const e = at + 2 + 12 * i;
    if (e + 12 > dv.byteLength) return;
    const tag = dv.getUint16(e, le);
    const type = dv.getUint16(e + 2, le);
    const count = dv.getUint32(e + 4, le);
    if (type === 2) {
      const off = count <= 4 ? e + 8 : base + dv.getUint32(e + 8, le);
      if (off + count > dv.byteLength) continue;
      let s = "";
      for (let k = 0; k < count; k++) {
        const c = dv.getUint8(off + k);
        if (c === 0) break;
        s += String.fromCharCode(c);
      }
      out.set(tag, s.trim());
    } else if (type === 4 && tag === 0x8769) out.set(tag, dv.getUint32(e + 8, le));
  }
}

/** Parses a raw EXIF block ("Exif\0\0" + TIFF, or TIFF alone). */
export function parseExif(raw: Uint8Array): ExifFields {
  let start = 0;
  if (raw.length >= 6 && raw[0] === 0x45 && raw[1] === 0x78 && raw[2] === 0x69 && raw[3] === 0x66) start = 6;
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (raw.length < start + 8) return NONE;
  const le = raw[start] === 0x49;
  if (!le && raw[start] !== 0x4d) return NONE;
  const tags = new Map<number, string | number>();
  readIfd(dv, start, start + dv.getUint32(start + 4, le), le, tags);
  const sub = tags.get(0x8769);
  if (typeof sub === "number") readIfd(dv, start, start + sub, le, tags);
  const make = (tags.get(0x010f) as string | undefined) ?? "";
  const model = (tags.get(0x0110) as string | undefined) ?? "";
  const camera = model && make && !model.toLowerCase().startsWith(make.toLowerCase().split(" ")[0]!) ? `${make} ${model}` : model || make || null;
  const date = (tags.get(0x9003) ?? tags.get(0x0132)) as string | undefined;
  const m = date ? /^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(date) : null;
  return { camera, taken: m ? `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}` : null };
}

/** Camera and date of an encoded image (JPEG, WebP, TIFF, HEIF carry EXIF; other formats give nulls). */
export async function exifFields(bytes: Uint8Array): Promise<ExifFields> {
  const f = sniffFormat(bytes);
  if (f !== "jpeg" && f !== "webp" && f !== "tiff" && f !== "heif" && f !== "png") return NONE;
  try {
    const { exif } = await sharp(bytes).metadata();
    return exif ? parseExif(exif) : NONE;
  } catch {
    return NONE;
  }
}
