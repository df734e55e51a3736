/** @file Random-access byte sources: in-memory bytes here; files in files.ts (Node only). */

/** Random access to a checkpoint file's bytes, so readers fetch only the ranges they use. */
export interface ByteSource {
  /** For error messages: a path or "<bytes>". */
  readonly name: string;
  readonly size: number;
  /**
   * `length` bytes at `position`. Memory sources return a view into their buffer, file sources
   * a fresh buffer (byteOffset 0, so typed arrays over it are aligned).
   */
  read(position: number, length: number): Uint8Array;
}

/** A ByteSource over bytes already in memory (views, no copies). */
export function bytesSource(bytes: Uint8Array, name = "<bytes>"): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read(position: number, length: number): Uint8Array {
      if (position < 0 || length < 0 || position + length > bytes.byteLength) {
        throw new RangeError(`read of ${length} bytes at ${position} is outside ${name} (${bytes.byteLength} bytes)`);
      }
      return bytes.subarray(position, position + length);
    },
  };
}
