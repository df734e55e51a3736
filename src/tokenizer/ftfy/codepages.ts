/** @file The single-byte encodings ftfy re-encodes mojibake with (latin-1, ftfy's "sloppy" windows-125x, iso-8859-2, macroman, cp437). */
import { CODE_PAGES } from "./tables.js";
import { InternalError } from "../../errors.js";

export interface CodePage {
  readonly name: string;
  readonly sloppy: boolean;
  /** byte -> character (all 256 bytes) */
  readonly decode: readonly string[];
  /** character code -> byte, for the characters outside ASCII-minus-0x1A */
  readonly encode: ReadonlyMap<number, number>;
}

function build(name: string, high: string, sub: string): CodePage {
  const decode: string[] = [];
  for (let b = 0; b < 0x80; b++) decode.push(String.fromCharCode(b));
  decode[0x1a] = sub;
  for (const ch of high) decode.push(ch);
  if (decode.length !== 256) throw new InternalError(`code page ${name} has ${decode.length} bytes`);
  const encode = new Map<number, number>();
  for (let b = 0x80; b < 0x100; b++) encode.set(decode[b].charCodeAt(0), b);
  encode.set(sub.charCodeAt(0), 0x1a);
  return { name, sloppy: name.startsWith("sloppy"), decode, encode };
}

const pages: (CodePage | undefined)[] = [];
/** ftfy.chardata.CHARMAP_ENCODINGS, in the order ftfy tries them; each built on first use. */
export function* codePages(): Generator<CodePage> {
  for (let i = 0; i < CODE_PAGES.length; i++) {
    const p = CODE_PAGES[i];
    yield (pages[i] ??= build(p.name, p.high, p.sub));
  }
}

export function codePage(name: string): CodePage {
  const i = CODE_PAGES.findIndex((p) => p.name === name);
  if (i < 0) throw new InternalError(`unknown code page ${name}`);
  const p = CODE_PAGES[i];
  return (pages[i] ??= build(p.name, p.high, p.sub));
}

/**
 * text.encode(page) as a byte string (one char per byte), or null when some character has no
 * byte in this page (ftfy's `possible_encoding` is false). Characters are all in the BMP here.
 */
export function encodeSingleByte(text: string, page: CodePage): string | null {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80 && c !== 0x1a) {
      out += text[i];
      continue;
    }
    const b = page.encode.get(c);
    if (b === undefined) return null;
    out += String.fromCharCode(b);
  }
  return out;
}

/** bytes.decode(page) for a byte string. */
export function decodeSingleByte(bytes: string, page: CodePage): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += page.decode[bytes.charCodeAt(i)];
  return out;
}
