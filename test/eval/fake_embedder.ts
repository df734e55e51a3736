/** @file A fake Embedder for evaluation tests: texts map to vectors from a table (or a hash), with call counting. */
import type { Embedder, Embeddings, EncodeOptions } from "../../src/clip/embedder.js";

/** Deterministic pseudo-random vector of a string (FNV-1a seeded xorshift), entries in [-1, 1). */
export function hashVector(text: string, dim: number): Float32Array {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  const v = new Float32Array(dim);
  let s = h >>> 0 || 1;
  for (let j = 0; j < dim; j++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    v[j] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return v;
}

export class FakeEmbedder implements Embedder {
  readonly imageSize = 32;
  textCalls = 0;
  textsEncoded = 0;

  constructor(
    readonly embedDim: number,
    readonly logitScale = 100,
    private table: Map<string, number[]> = new Map(),
  ) {}

  async encodeTexts(texts: string[], opts?: EncodeOptions): Promise<Embeddings> {
    this.textCalls++;
    this.textsEncoded += texts.length;
    const d = this.embedDim;
    const data = new Float32Array(texts.length * d);
    texts.forEach((t, i) => {
      const v = this.table.get(t) ?? hashVector(t, d);
      let s = 0;
      for (let j = 0; j < d; j++) s += v[j]! * v[j]!;
      const inv = opts?.normalize === false ? 1 : 1 / Math.sqrt(s);
      for (let j = 0; j < d; j++) data[i * d + j] = v[j]! * inv;
    });
    opts?.onProgress?.(texts.length, texts.length);
    return { data, n: texts.length, dim: d };
  }

  imageCalls = 0;

  /** Images are embedded by hashing their bytes. */
  async encodeImages(images: (string | Uint8Array)[], opts?: EncodeOptions): Promise<Embeddings> {
    this.imageCalls++;
    const d = this.embedDim;
    const data = new Float32Array(images.length * d);
    images.forEach((im, i) => data.set(hashVector(typeof im === "string" ? im : Array.from(im).join(","), d), i * d));
    opts?.onProgress?.(images.length, images.length);
    return { data, n: images.length, dim: d };
  }

  async encodePixels(): Promise<Embeddings> {
    throw new Error("FakeEmbedder.encodePixels: not used");
  }
}

/** Embeddings from rows. */
export function rows(r: number[][]): Embeddings {
  const dim = r[0]!.length;
  return { data: Float32Array.from(r.flat()), n: r.length, dim };
}
