/**
 * @file Test helpers for the server: a started server on port 0 over a fixture checkpoint, a model
 * wrapper that counts calls, an in-memory SearchBackend (brute force over the model's own
 * embeddings of the fixture images), and request helpers.
 */
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { ClipModel } from "../../src/clip/model.js";
import { UserError } from "../../src/errors.js";
import type { SearchBackend, SearchQuery, SearchResult, StoredImage } from "../../src/server/backend.js";
import { createServer, type ClipServer, type ServerOptions } from "../../src/server/app.js";
import type { ServeModel } from "../../src/server/engine.js";
import { REFERENCE } from "../helpers/shared.js";

export const IMAGES_DIR = path.join(REFERENCE, "images");
/** The fixture images, sorted by name: ids img0..img7. */
export const IMAGE_FILES = fs.readdirSync(IMAGES_DIR).filter((f) => f.endsWith(".png")).sort();
export const imageBytes = (i: number): Uint8Array => new Uint8Array(fs.readFileSync(path.join(IMAGES_DIR, IMAGE_FILES[i]!)));

/** Loads a fixture checkpoint as `clip serve` does. */
export function loadModel(name = "vit-tiny", batchSize = 32): Promise<ClipModel> {
  return ClipModel.load(path.join(REFERENCE, name), { threads: 2, truncate: "error", batchSize });
}

/** A ServeModel that forwards to a ClipModel and counts the calls per tower; `delayMs` makes each text call slower. */
export function countingModel(m: ClipModel, delayMs = 0): ServeModel & { calls: { text: number; image: number } } {
  const calls = { text: 0, image: 0 };
  const later = <T>(p: Promise<T>): Promise<T> => (delayMs > 0 ? p.then((v) => new Promise<T>((r) => setTimeout(() => r(v), delayMs))) : p);
  return {
    calls,
    embedDim: m.embedDim,
    logitScale: m.logitScale,
    imageSize: m.imageSize,
    contextLength: m.contextLength,
    source: m.source,
    tokenize: (t) => m.tokenize(t),
    embedTexts: (t, o) => {
      calls.text++;
      return later(m.embedTexts(t, o));
    },
    embedImages: (x, o) => {
      calls.image++;
      return m.embedImages(x, o);
    },
  };
}

const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Cosine similarity of two vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = Float32Array.from(a);
  const y = Float32Array.from(b);
  return dot(x, y) / Math.sqrt(dot(x, x) * dot(y, y));
}

/** Row i of a [n, d] matrix. */
export const row = (m: { data: Float32Array; dims: [number, number] }, i: number): Float32Array => m.data.subarray(i * m.dims[1], (i + 1) * m.dims[1]);

/**
 * Exact search over the fixture images with the model's own embeddings: the reference the
 * routes are checked against. Records every id it is asked for.
 */
export class MemoryBackend implements SearchBackend {
  readonly askedIds: string[] = [];
  private constructor(
    private readonly model: ClipModel,
    private readonly ids: string[],
    private readonly emb: Float32Array[],
    private readonly files: Map<string, StoredImage>,
  ) {}

  static async create(model: ClipModel): Promise<MemoryBackend> {
    const ids = IMAGE_FILES.map((_f, i) => `img${i}`);
    const m = await model.embedImages(IMAGE_FILES.map((f) => path.join(IMAGES_DIR, f)));
    const files = new Map(ids.map((id, i) => [id, { bytes: imageBytes(i), contentType: "image/png" }]));
    return new MemoryBackend(model, ids, ids.map((_id, i) => Float32Array.from(row(m, i))), files);
  }

  /** The query vector as `clip search` forms it: the query, plus `and` texts, minus `not` texts, normalized. */
  async queryVector(q: SearchQuery): Promise<Float32Array> {
    const d = this.model.embedDim;
    const v = new Float32Array(d);
    const add = (x: Float32Array, s: number) => x.forEach((e, i) => (v[i]! += s * e));
    if (q.text !== undefined) add(row(await this.model.embedTexts([q.text]), 0), 1);
    if (q.image !== undefined) add(row(await this.model.embedImages([q.image]), 0), 1);
    if (q.like !== undefined) {
      const at = this.ids.indexOf(q.like);
      if (at < 0) throw new UserError(`like: no image with id ${q.like}`);
      add(this.emb[at]!, 1);
    }
    for (const t of q.and ?? []) add(row(await this.model.embedTexts([t]), 0), 1);
    for (const t of q.not ?? []) add(row(await this.model.embedTexts([t]), 0), -1);
    const n = Math.sqrt(dot(v, v));
    return v.map((x) => x / n);
  }

  async search(q: SearchQuery): Promise<SearchResult[]> {
    if (q.where !== undefined) throw new UserError("where: filters are not supported by this index");
    const v = await this.queryVector(q);
    return this.ids
      .map((id, i) => ({ id, path: IMAGE_FILES[i]!, score: dot(v, this.emb[i]!) }))
      .filter((r) => q.minScore === undefined || r.score >= q.minScore)
      .sort((a, b) => b.score - a.score)
      .slice(0, q.k);
  }

  async imageById(id: string): Promise<StoredImage | null> {
    this.askedIds.push(id);
    return this.files.get(id) ?? null;
  }

  async info() {
    return { images: this.ids.length, kind: "memory" };
  }
}

/** A listening server and its base URL. */
export interface Started extends ClipServer {
  url: string;
}

/** Creates and starts a server on 127.0.0.1, port 0. */
export async function start(model: ServeModel, opts: ServerOptions = {}): Promise<Started> {
  const s = await createServer(model, { onError: () => undefined, ...opts });
  const address = await s.app.listen({ host: "127.0.0.1", port: 0 });
  return { ...s, url: address };
}

/** POST JSON; the parsed reply and its status. */
export async function postJson(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** GET; the parsed JSON reply and its status. */
export async function getJson(url: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url);
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/**
 * A decompression bomb: a valid PNG of `side` x `side` grey pixels (all zero, so it deflates to
 * almost nothing). 30000 x 30000 is 900 MP in a file of about 1 MB.
 */
export function pngBomb(side: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  const raw = Buffer.alloc((side + 1) * Math.min(side, 2000)); // the first rows only: enough to be a real stream
  const idat = zlib.deflateSync(raw, { level: 9 });
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", idat), chunk("IEND", new Uint8Array(0))]));
}
