/**
 * @file sha256 of a download as its bytes arrive, off the receiving thread for large files (a
 * worker thread hashes while the main thread reads the socket and writes the file), so the check
 * costs no throughput. Node only.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import { Worker } from "node:worker_threads";
import { InternalError } from "../../errors.js";

/** A running sha256 over a prefix already on disk, then the chunks given. */
export interface Sha256 {
  /** Hashes the first `length` bytes of `file` (a resumed transfer's bytes). */
  prefix(file: string, length: number): void;
  /** Hashes `chunk`, taking its buffer: a worker's is moved to the worker, so the caller must not reuse it. */
  update(chunk: Uint8Array): Promise<void> | void;
  digest(): Promise<string>;
  /** Frees the worker (also after a failure). */
  close(): void;
}

function hashFilePrefix(hash: crypto.Hash, file: string, length: number): void {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (let pos = 0; pos < length; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - pos), pos);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** On this thread: for small files, where a worker's start costs more than it saves. */
function inlineSha256(): Sha256 {
  const hash = crypto.createHash("sha256");
  return {
    prefix: (file, length) => hashFilePrefix(hash, file, length),
    update: (chunk) => void hash.update(chunk),
    digest: async () => hash.digest("hex"),
    close: () => undefined,
  };
}

// CommonJS source of the worker (eval'd): hashes what it is sent, acknowledges every 16 MiB
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const crypto = require("node:crypto");
const fs = require("node:fs");
const hash = crypto.createHash("sha256");
let done = 0, acked = 0;
parentPort.on("message", (m) => {
  if (m.type === "prefix") {
    const fd = fs.openSync(m.file, "r");
    const buf = Buffer.allocUnsafe(1 << 22);
    for (let pos = 0; pos < m.length; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, m.length - pos), pos);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
    fs.closeSync(fd);
  } else if (m.type === "chunk") {
    hash.update(m.chunk);
    done += m.chunk.length;
    if (done - acked >= 1 << 24) { acked = done; parentPort.postMessage({ type: "ack", done }); }
  } else if (m.type === "end") {
    parentPort.postMessage({ type: "digest", hex: hash.digest("hex") });
  }
});
`;

/** At most this many bytes sent to the worker and not yet hashed (memory bound when hashing is slower than the network). */
const MAX_QUEUED = 1 << 27;

function workerSha256(): Sha256 {
  // execArgv [] so that a parent's --input-type=module does not make the CommonJS source a module
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  let sent = 0;
  let hashed = 0;
  let failure: Error | undefined;
  const waiters: (() => void)[] = [];
  let onDigest: ((hex: string) => void) | undefined;
  worker.on("message", (m: { type: string; done?: number; hex?: string }) => {
    if (m.type === "ack") hashed = m.done!;
    if (m.type === "digest") onDigest?.(m.hex!);
    while (waiters.length) waiters.shift()!();
  });
  worker.on("error", (e) => {
    failure = e;
    while (waiters.length) waiters.shift()!();
  });
  return {
    prefix(file, length) {
      worker.postMessage({ type: "prefix", file, length });
    },
    async update(chunk) {
      worker.postMessage({ type: "chunk", chunk }, [chunk.buffer as ArrayBuffer]); // moved, not cloned
      sent += chunk.length;
      while (sent - hashed > MAX_QUEUED && !failure) await new Promise<void>((r) => waiters.push(r));
      if (failure) throw new InternalError(`sha256 worker failed: ${failure.message}`);
    },
    digest() {
      return new Promise((resolve, reject) => {
        const fail = (): void => reject(new InternalError(`sha256 worker failed: ${failure!.message}`));
        if (failure) return fail();
        onDigest = resolve;
        waiters.push(() => failure && fail());
        worker.postMessage({ type: "end" });
      });
    },
    close() {
      void worker.terminate();
    },
  };
}

/** A sha256 for a file of `size` bytes: in a worker thread from 32 MiB up. */
export function sha256For(size: number): Sha256 {
  return size >= 1 << 25 ? workerSha256() : inlineSha256();
}
