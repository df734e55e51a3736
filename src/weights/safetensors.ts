/**
 * @file safetensors read and write, from and to bytes (no Node APIs; files.ts adds paths).
 * Format: u64 little-endian header length N, N bytes of JSON
 * {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}, then the data.
 */
import { UserError, fmtShape } from "../errors.js";
import {
  DTYPE_BYTES,
  type DType,
  type RawTensor,
  type TypedData,
  bytesOf,
  dtypeOfTyped,
  float32ToHalf,
  isDType,
  numel,
  typedFromBytes,
  upcastHalf,
} from "./dtype.js";
import { type ByteSource, bytesSource } from "./source.js";

/** One tensor's place in a safetensors file; `begin`/`end` are absolute file offsets. */
export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** File offset of the data section. */
  dataStart: number;
}

export interface SafetensorsReadOptions {
  /** Upcast F16 and BF16 tensors to F32 (exact). Default false: raw 16-bit patterns in a Uint16Array. */
  upcast?: boolean;
  /** Read only the tensors whose name passes. */
  filter?: (name: string) => boolean;
}

export interface SafetensorsContents {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

const MAX_HEADER = 100_000_000;

/** Parses and validates the header (reads only the header's bytes). */
export function parseSafetensorsHeader(src: ByteSource): SafetensorsHeader {
  const bad = (why: string): UserError => new UserError(`${src.name}: not a valid safetensors file: ${why}`);
  if (src.size < 8) throw bad(`${src.size} bytes is too short`);
  const lenBytes = src.read(0, 8);
  const n = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > src.size) throw bad(`header length ${n} does not fit the file (${src.size} bytes)`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(src.read(8, n)));
  } catch (e) {
    throw bad(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bad("header is not a JSON object");
  const dataStart = 8 + n;
  const dataLen = src.size - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad("__metadata__ is not an object");
      metadata = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) throw bad(`entry ${name} is not an object`);
    if (typeof e.dtype !== "string" || !isDType(e.dtype)) throw bad(`tensor ${name} has unsupported dtype ${String(e.dtype)}`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw bad(`tensor ${name} has invalid shape ${JSON.stringify(shape)}`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      throw bad(`tensor ${name} has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [b, end] = offs as [number, number];
    const want = numel(shape as number[]) * DTYPE_BYTES[e.dtype];
    if (end < b || end - b !== want) {
      throw bad(`tensor ${name} ${e.dtype}${fmtShape(shape as number[])} needs ${want} bytes, data_offsets [${b},${end}] give ${end - b}`);
    }
    if (end > dataLen) throw bad(`tensor ${name} data_offsets [${b},${end}] run past the data (${dataLen} bytes): truncated file?`);
    entries.set(name, { dtype: e.dtype, shape: shape as number[], begin: dataStart + b, end: dataStart + end });
  }
  return { entries, metadata, dataStart };
}

/** Reads tensors from any ByteSource. Memory sources give views into their bytes when aligned. */
export function readSafetensorsFrom(src: ByteSource, opts: SafetensorsReadOptions = {}): SafetensorsContents {
  const header = parseSafetensorsHeader(src);
  const tensors = new Map<string, RawTensor>();
  for (const [name, e] of header.entries) {
    if (opts.filter && !opts.filter(name)) continue;
    const raw: RawTensor = { dtype: e.dtype, shape: e.shape, data: typedFromBytes(e.dtype, src.read(e.begin, e.end - e.begin)) };
    tensors.set(name, opts.upcast ? upcastHalf(raw) : raw);
  }
  return { tensors, metadata: header.metadata };
}

/** Reads a safetensors file already in memory. Tensors may share memory with `bytes`. */
export function readSafetensors(bytes: Uint8Array, opts: SafetensorsReadOptions = {}): SafetensorsContents {
  return readSafetensorsFrom(bytesSource(bytes), opts);
}

/** A tensor to write. `dtype` defaults to the array's own (Float32Array: F32, Uint16Array: F16). */
export interface TensorToWrite {
  dtype?: DType;
  shape: readonly number[];
  data: TypedData;
}

export type TensorsToWrite = Map<string, TensorToWrite> | Record<string, TensorToWrite>;

/** A tensor's bytes in `dtype`, converting from the array's type where needed (e.g. Float32Array to F16). */
export function encodeTensorData(name: string, t: TensorToWrite): { dtype: DType; bytes: Uint8Array } {
  const dtype = t.dtype ?? dtypeOfTyped(t.data);
  const n = numel(t.shape);
  if (t.data.length !== n) {
    throw new UserError(`tensor ${name}: shape ${fmtShape(t.shape)} needs ${n} elements, data has ${t.data.length}`);
  }
  const natural = dtypeOfTyped(t.data);
  const same = natural === dtype || (t.data instanceof Uint16Array && dtype === "BF16") || (t.data instanceof Uint8Array && dtype === "BOOL");
  if (same) return { dtype, bytes: bytesOf(t.data) };
  const d = t.data;
  if (d instanceof Uint16Array) {
    throw new UserError(`tensor ${name}: 16-bit float patterns cannot be written as ${dtype}; upcast them first`);
  }
  const num = (): number[] | Float32Array =>
    d instanceof BigInt64Array ? Array.from(d, Number) : d instanceof Float32Array ? d : Array.from(d as ArrayLike<number>);
  let out: TypedData;
  switch (dtype) {
    case "F16":
    case "BF16":
      out = float32ToHalf(d instanceof Float32Array ? d : Float32Array.from(num()), dtype);
      break;
    case "F32":
      out = Float32Array.from(num());
      break;
    case "F64":
      out = Float64Array.from(num());
      break;
    case "I64":
      out = BigInt64Array.from(num(), (x) => BigInt(Math.round(x)));
      break;
    case "I32":
      out = Int32Array.from(num());
      break;
    case "I16":
      out = Int16Array.from(num());
      break;
    case "I8":
      out = Int8Array.from(num());
      break;
    case "U8":
    case "BOOL":
      out = Uint8Array.from(num());
      break;
  }
  return { dtype, bytes: bytesOf(out) };
}

/** A planned file: the header bytes (padded so data starts 8-aligned) and the tensors' bytes in file order. */
export interface SafetensorsPlan {
  header: Uint8Array;
  chunks: Uint8Array[];
  size: number;
}

/** Lays out a safetensors file: tensors sorted by name, `__metadata__` first, deterministic bytes. */
export function planSafetensors(tensors: TensorsToWrite, metadata?: Record<string, string>): SafetensorsPlan {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const head: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    head.__metadata__ = Object.fromEntries(Object.keys(metadata).sort().map((k) => [k, metadata[k]]));
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === "__metadata__") throw new UserError(`a tensor cannot be named __metadata__`);
    const { dtype, bytes } = encodeTensorData(name, t);
    head[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.byteLength] };
    chunks.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(head);
  const enc = new TextEncoder();
  let jsonBytes = enc.encode(json);
  const pad = (8 - ((8 + jsonBytes.byteLength) % 8)) % 8;
  if (pad) {
    json += " ".repeat(pad);
    jsonBytes = enc.encode(json);
  }
  const header = new Uint8Array(8 + jsonBytes.byteLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(jsonBytes.byteLength), true);
  header.set(jsonBytes, 8);
  return { header, chunks, size: header.byteLength + offset };
}

/** Serializes tensors to safetensors bytes (see planSafetensors for the layout). */
export function serializeSafetensors(tensors: TensorsToWrite, metadata?: Record<string, string>): Uint8Array {
  const plan = planSafetensors(tensors, metadata);
  const out = new Uint8Array(plan.size);
  out.set(plan.header, 0);
  let pos = plan.header.byteLength;
  for (const c of plan.chunks) {
    out.set(c, pos);
    pos += c.byteLength;
  }
  return out;
}
