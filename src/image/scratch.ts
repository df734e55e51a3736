/**
 * @file Reusable scratch buffers for the decode/resize temporaries that never leave a synchronous
 * call. Fresh large typed arrays are costly (page faults, GC pressure from external memory), so
 * each thread keeps one buffer per purpose and hands out views. Pure TypeScript.
 */

/** Buffers above this many bytes are not kept (a one-off huge image should not pin memory). */
const KEEP_LIMIT = 64 << 20;
const buffers = new Map<string, ArrayBuffer>();

function raw(tag: string, bytes: number): ArrayBuffer {
  if (bytes > KEEP_LIMIT) return new ArrayBuffer(bytes);
  let b = buffers.get(tag);
  if (!b || b.byteLength < bytes) {
    b = new ArrayBuffer(Math.min(KEEP_LIMIT, Math.max(bytes, Math.ceil((b?.byteLength ?? 0) * 1.5))));
    buffers.set(tag, b);
  }
  return b;
}

/** A Uint8Array of n bytes, contents undefined; valid until the next call with the same tag. */
export function scratchU8(tag: string, n: number): Uint8Array {
  return new Uint8Array(raw(tag, n), 0, n);
}

/** An Int16Array of n elements, contents undefined. */
export function scratchI16(tag: string, n: number): Int16Array {
  return new Int16Array(raw(tag, n * 2), 0, n);
}

/** An Int32Array of n elements, contents undefined. */
export function scratchI32(tag: string, n: number): Int32Array {
  return new Int32Array(raw(tag, n * 4), 0, n);
}
