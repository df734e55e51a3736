/**
 * @file Request bodies into plain values: base64 images (with or without a data: URL prefix),
 * multipart uploads, label lists, and ajv validation errors as one line naming the field.
 */
import type { FastifyRequest } from "fastify";
import { badRequest, tooLarge } from "./http_error.js";

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes a base64 image field; 400 if it is not base64, 413 beyond `maxBytes` (checked before decoding). */
export function decodeBase64(s: string, field: string, maxBytes: number): Uint8Array {
  const prefix = /^data:[\w.+/-]*(;[\w=.+-]+)*;base64,/.exec(s);
  const body = (prefix ? s.slice(prefix[0].length) : s).replace(/\s+/g, "");
  if (body.length === 0) throw badRequest(field, "empty image (no base64 data)");
  if (!BASE64.test(body) || body.length % 4 === 1) throw badRequest(field, "not valid base64");
  if (Math.floor((body.length * 3) / 4) > maxBytes + 2) throw tooLarge(field, `image is larger than the limit of ${maxBytes} bytes`);
  const b = Buffer.from(body, "base64");
  if (b.length > maxBytes) throw tooLarge(field, `image is ${b.length} bytes, more than the limit of ${maxBytes}`);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** The parts of a multipart/form-data body. */
export interface MultipartBody {
  files: { field: string; bytes: Uint8Array }[];
  fields: { name: string; value: string }[];
}

/**
 * Reads every part; @fastify/multipart's limits (file size, counts) reject with 413, and so does
 * a body whose files add up to more than `maxBytes` (files are buffered: this bounds the memory).
 */
export async function readMultipart(req: FastifyRequest, maxBytes: number): Promise<MultipartBody> {
  const out: MultipartBody = { files: [], fields: [] };
  let total = 0;
  for await (const part of req.parts()) {
    if (part.type === "file") {
      const b = await part.toBuffer();
      total += b.length;
      if (total > maxBytes) throw tooLarge("body", `larger than the limit of ${maxBytes} bytes`);
      out.files.push({ field: part.fieldname, bytes: new Uint8Array(b.buffer, b.byteOffset, b.length) });
    } else {
      if (part.valueTruncated || part.fieldnameTruncated) throw tooLarge(part.fieldname, "form field is larger than the limit");
      out.fields.push({ name: part.fieldname, value: String(part.value) });
    }
  }
  return out;
}

/** Refuses multipart fields and files other than the ones a route takes, naming the first. */
export function onlyParts(body: MultipartBody, fields: string[], files: string[]): void {
  for (const f of body.fields) if (!fields.includes(f.name)) throw badRequest(f.name, `unknown form field (expected ${[...fields, ...files].join(", ")})`);
  for (const f of body.files) if (!files.includes(f.field)) throw badRequest(f.field, `unexpected file field (files go in ${files.join(" or ")})`);
}

/** A label list: an array of names, or one string of comma-separated names. */
export function labelList(v: string | string[], field: string): string[] {
  const list = typeof v === "string" ? v.split(",") : v;
  const names = list.map((s) => s.trim());
  if (names.length === 1 && names[0] === "") throw badRequest(field, "no labels");
  names.forEach((n, i) => {
    if (n === "") throw badRequest(field, `label ${i + 1} is empty`);
  });
  return names;
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** "texts[2]: must be string" from ajv's `/texts/2`; unknown and missing properties named too. */
export function validationMessage(errors: AjvError[], context = "body"): string {
  const e = errors[0];
  if (!e) return `${context}: invalid`;
  const path = e.instancePath
    .split("/")
    .slice(1)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join("")
    .replace(/^\./, "");
  if (e.keyword === "additionalProperties") return `${path ? path + "." : ""}${String(e.params.additionalProperty)}: unknown field`;
  if (e.keyword === "required") return `${path ? path + "." : ""}${String(e.params.missingProperty)}: required field is missing`;
  return `${path || context}: ${e.message ?? "invalid"}`;
}
