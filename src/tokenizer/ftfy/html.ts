/** @file HTML entity decoding: Python's `html.unescape` (which CLIP applies twice) and ftfy's stricter `unescape_html`. */
import { HTML5_ENTITIES_JSON, INVALID_CHARREFS_JSON } from "./tables.js";

// both tables are parsed on first use (see generate_tables.py)
let html5: Map<string, string> | undefined;
function html5Table(): Map<string, string> {
  html5 ??= new Map(Object.entries(JSON.parse(HTML5_ENTITIES_JSON) as Record<string, string>));
  return html5;
}
let invalidCharrefs: Record<number, string> | undefined;
function invalidCharrefTable(): Record<number, string> {
  invalidCharrefs ??= JSON.parse(INVALID_CHARREFS_JSON) as Record<number, string>;
  return invalidCharrefs;
}

// Python: re.compile(r'&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)')
const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** Code points that html.unescape drops (html._invalid_codepoints). */
function isInvalidCodePoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) ||
    cp === 0xb ||
    (cp >= 0xe && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

function replaceCharref(_match: string, s: string): string {
  if (s[0] === "#") {
    const hex = s[1] === "x" || s[1] === "X";
    const digits = s.slice(hex ? 2 : 1).replace(/;$/, "");
    // long digit strings only need to compare as "> 0x10FFFF"; parseInt's rounding is harmless
    const num = parseInt(digits, hex ? 16 : 10);
    const redirected = invalidCharrefTable()[num];
    if (redirected !== undefined) return redirected;
    if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return "\ufffd";
    if (isInvalidCodePoint(num)) return "";
    return String.fromCodePoint(num);
  }
  const table = html5Table();
  const whole = table.get(s);
  if (whole !== undefined) return whole;
  // the longest entity name that prefixes s (legacy names like "&amp" need no ';')
  for (let x = s.length - 1; x > 1; x--) {
    const value = table.get(s.slice(0, x));
    if (value !== undefined) return value + s.slice(x);
  }
  return "&" + s;
}

/** Python's html.unescape. */
export function htmlUnescape(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(CHARREF_RE, replaceCharref);
}

let ftfyEntities: Map<string, string> | undefined;
/** ftfy.chardata.HTML_ENTITIES: "&name;" forms, plus all-caps forms of lower-case names. */
function ftfyEntityTable(): Map<string, string> {
  if (ftfyEntities) return ftfyEntities;
  const table = new Map<string, string>();
  for (const [name, char] of html5Table()) {
    if (!name.endsWith(";")) continue;
    table.set("&" + name, char);
    if (name === name.toLowerCase()) {
      const upper = "&" + name.toUpperCase();
      // only where the upper-case name is not itself an entity
      if (htmlUnescape(upper) === upper) table.set(upper, char.toUpperCase());
    }
  }
  ftfyEntities = table;
  return table;
}

const FTFY_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy.fixes.unescape_html: entities that end in ';' (and &NTILDE;-style all-caps ones). */
export function ftfyUnescapeHtml(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(FTFY_ENTITY_RE, (m) => {
    const known = ftfyEntityTable().get(m);
    if (known !== undefined) return known;
    if (m.startsWith("&#")) {
      const unescaped = htmlUnescape(m);
      // a reference html.unescape only partly decoded stays as it was
      return unescaped.includes(";") ? m : unescaped;
    }
    return m;
  });
}
