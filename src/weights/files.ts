/** @file Node file access for the weight readers and writers: file ByteSources, atomic writes. */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import type { RawTensor } from "./dtype.js";
import {
  type SafetensorsContents,
  type SafetensorsHeader,
  type SafetensorsReadOptions,
  type TensorsToWrite,
  parseSafetensorsHeader,
  planSafetensors,
  readSafetensorsFrom,
} from "./safetensors.js";
import type { ByteSource } from "./source.js";
import { type TorchContents, type TorchReadOptions, readTorchZipFrom } from "./torchzip.js";

/** A ByteSource over an open file: each read is a positioned read into a fresh buffer. */
export interface FileSource extends ByteSource {
  close(): void;
}

/** Opens a file for random access. Throws a UserError naming the path if it cannot be opened. */
export function openFileSource(file: string): FileSource {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw new UserError(`cannot open ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const size = fs.fstatSync(fd).size;
  return {
    name: file,
    size,
    read(position: number, length: number): Uint8Array {
      if (position < 0 || length < 0 || position + length > size) {
        throw new UserError(`${file}: read of ${length} bytes at ${position} is past the end (${size} bytes): truncated file?`);
      }
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        // readSync reads at most 2 GiB at once
        const n = fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), position + done);
        if (n === 0) throw new UserError(`${file}: unexpected end of file at byte ${position + done}`);
        done += n;
      }
      return out;
    },
    close(): void {
      fs.closeSync(fd);
    },
  };
}

/** Runs `fn` over a file source, closing it afterwards. */
export function withFile<T>(file: string, fn: (src: FileSource) => T): T {
  const src = openFileSource(file);
  try {
    return fn(src);
  } finally {
    src.close();
  }
}

/** Reads a .safetensors file, one positioned read per tensor (aligned, no copy of the whole file). */
export function readSafetensorsFile(file: string, opts: SafetensorsReadOptions = {}): SafetensorsContents {
  return withFile(file, (src) => readSafetensorsFrom(src, opts));
}

/** Reads a PyTorch zip checkpoint (.bin/.pt/.pth), reading only the storages its tensors use. */
export function readTorchFile(file: string, opts: TorchReadOptions = {}): TorchContents {
  return withFile(file, (src) => readTorchZipFrom(src, opts));
}

/** Whether a source holds a PyTorch checkpoint rather than safetensors, by content (not by extension). */
function isTorchSource(src: FileSource): boolean {
  // zip (torch >= 1.6) starts "PK"; safetensors has "{" after its 8-byte length; a pickle starts 0x80
  const head = src.read(0, Math.min(9, src.size));
  const isZip = head.length >= 2 && head[0] === 0x50 && head[1] === 0x4b;
  const isSafetensors = head.length === 9 && head[8] === 0x7b;
  return isZip || (!isSafetensors && head[0] === 0x80);
}

/**
 * Reads tensors from .safetensors or a PyTorch zip, by content (not by extension). `filter`
 * keeps the tensors whose name passes (a safetensors file reads only their bytes).
 */
export function readTensorsFile(file: string, opts: { upcast?: boolean; filter?: (name: string) => boolean } = {}): { tensors: Map<string, RawTensor>; format: "safetensors" | "torch" } {
  return withFile(file, (src) => {
    if (isTorchSource(src)) {
      const { tensors } = readTorchZipFrom(src, opts);
      if (opts.filter) for (const k of [...tensors.keys()]) if (!opts.filter(k)) tensors.delete(k);
      return { tensors, format: "torch" as const };
    }
    return { tensors: readSafetensorsFrom(src, opts).tensors, format: "safetensors" as const };
  });
}

/** The header (names, dtypes, shapes, offsets) of a safetensors file without its data; undefined for a PyTorch file. */
export function readSafetensorsHeaderFile(file: string): SafetensorsHeader | undefined {
  return withFile(file, (src) => (isTorchSource(src) ? undefined : parseSafetensorsHeader(src)));
}

/** Writes `bytes` chunks to `file` atomically: a temporary file in the same directory, then rename. */
export function writeFileAtomic(file: string, chunks: Uint8Array[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = fs.openSync(tmp, "w");
  try {
    for (const c of chunks) {
      let done = 0;
      while (done < c.byteLength) done += fs.writeSync(fd, c, done, Math.min(c.byteLength - done, 1 << 30));
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** Writes a .safetensors file (keys sorted, deterministic bytes), atomically, streaming tensor by tensor. */
export function writeSafetensorsFile(file: string, tensors: TensorsToWrite, metadata?: Record<string, string>): void {
  const plan = planSafetensors(tensors, metadata);
  writeFileAtomic(file, [plan.header, ...plan.chunks]);
}
