/** @file Byte streams of one shard from a byte offset: local files, http(s) (Range requests), gzip. */
import fs from "node:fs";
import type { Readable } from "node:stream";
import { nodeStream, nodeZlib } from "../util/builtins.node.js";

const READ_SIZE = 4 << 20;

/** A shard could not be opened or read (missing file, HTTP error, network failure). */
export class ShardReadError extends Error {
  constructor(
    readonly shard: string,
    message: string,
    /** The bytes ended early (a damaged gzip stream), rather than the shard being unreachable. */
    readonly truncated = false,
    /** Worth retrying (network failure, HTTP 5xx), unlike a missing file or HTTP 404. */
    readonly retryable = false,
  ) {
    super(message);
    this.name = "ShardReadError";
  }
}

export function isUrl(shard: string): boolean {
  return /^https?:\/\//i.test(shard);
}

function gzName(shard: string): boolean {
  return /\.(gz|tgz)$/i.test(shard.replace(/[?#].*$/, ""));
}

/**
 * The uncompressed tar bytes of a shard from `offset` on. Compressed shards (by name, or by the
 * gzip magic at byte 0) are decompressed from the start and the first `offset` bytes dropped.
 */
export async function* shardBytes(shard: string, offset: number): AsyncGenerator<Uint8Array> {
  if (isUrl(shard)) yield* httpBytes(shard, offset);
  else yield* fileBytes(shard, offset);
}

async function* fileBytes(file: string, offset: number): AsyncGenerator<Uint8Array> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, "r");
  } catch (e) {
    throw new ShardReadError(file, `cannot open shard ${file}: ${(e as Error).message}`);
  }
  try {
    const magic = new Uint8Array(2);
    await fh.read(magic, 0, 2, 0);
    if (gzName(file) || (magic[0] === 0x1f && magic[1] === 0x8b)) {
      const raw = fh.createReadStream({ start: 0, autoClose: false, highWaterMark: READ_SIZE });
      yield* dropPrefix(gunzip(raw, file), offset);
      return;
    }
    const { size } = await fh.stat();
    let pos = offset;
    while (pos < size) {
      // a fresh buffer each time: the tar reader may still look at the previous one
      const want = Math.min(READ_SIZE, size - pos);
      const buf = Buffer.allocUnsafeSlow(want);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

async function* httpBytes(url: string, offset: number): AsyncGenerator<Uint8Array> {
  const gz = gzName(url);
  const headers: Record<string, string> = {};
  if (offset > 0 && !gz) headers.Range = `bytes=${offset}-`;
  let res: Response;
  try {
    res = await fetch(url, { headers });
  } catch (e) {
    throw new ShardReadError(url, `cannot fetch shard ${url}: ${(e as Error).message}${causeOf(e)}`, false, true);
  }
  if (res.status === 416) return; // offset at the very end
  if (!res.ok || !res.body) throw new ShardReadError(url, `cannot fetch shard ${url}: HTTP ${res.status} ${res.statusText}`, false, res.status >= 500 || res.status === 429);
  const web = nodeStream().Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
  const body = netErrors(web, url);
  if (gz) {
    yield* dropPrefix(gunzip(body, url), offset);
    return;
  }
  const skip = res.status === 206 ? 0 : offset; // the server ignored Range: drop the prefix ourselves
  let first = true;
  const chunks = dropPrefix(body, skip);
  for await (const c of chunks) {
    if (first && offset === 0 && c[0] === 0x1f && c[1] === 0x8b) {
      // gzip served under a .tar name
      yield* gunzip(prepend(c, chunks), url);
      return;
    }
    first = false;
    yield c;
  }
}

/** Turns a connection dropped mid-body into a retryable ShardReadError (the reader resumes at the last whole sample). */
async function* netErrors(body: Readable, url: string): AsyncGenerator<Uint8Array> {
  try {
    for await (const c of body) yield c as Uint8Array;
  } catch (e) {
    throw new ShardReadError(url, `connection to ${url} failed: ${(e as Error).message}${causeOf(e)}`, false, true);
  } finally {
    body.destroy();
  }
}

async function* prepend(first: Uint8Array, rest: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  yield* rest;
}

function causeOf(e: unknown): string {
  const c = (e as { cause?: { message?: string } }).cause;
  return c?.message ? ` (${c.message})` : "";
}

async function* gunzip(source: AsyncIterable<Uint8Array>, shard: string): AsyncGenerator<Uint8Array> {
  const raw = source instanceof nodeStream().Readable ? source : nodeStream().Readable.from(source, { objectMode: false });
  const z = nodeZlib().createGunzip({ chunkSize: 1 << 20 });
  raw.on("error", (e) => z.destroy(e));
  raw.pipe(z);
  try {
    for await (const c of z) yield c as Uint8Array;
  } catch (e) {
    if (e instanceof ShardReadError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === "Z_BUF_ERROR" || err.code === "Z_DATA_ERROR" || /unexpected end/i.test(err.message)) {
      throw new ShardReadError(shard, `truncated or damaged gzip stream in ${shard}: ${err.message}`, true);
    }
    throw new ShardReadError(shard, `cannot read shard ${shard}: ${err.message}`, false, isUrl(shard));
  } finally {
    raw.destroy();
    z.destroy();
  }
}

async function* dropPrefix(chunks: AsyncIterable<Uint8Array>, n: number): AsyncGenerator<Uint8Array> {
  let left = n;
  for await (const c of chunks) {
    if (left >= c.length) {
      left -= c.length;
      continue;
    }
    yield left > 0 ? c.subarray(left) : c;
    left = 0;
  }
}

/** Fetches a small text file (classnames.txt, sizes.json) over http(s); undefined when absent. */
export async function fetchText(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(15000) });
    if (!res.ok) return undefined;
    return await res.text();
  } catch {
    return undefined;
  }
}
