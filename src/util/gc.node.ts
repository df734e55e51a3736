/** @file A full garbage collection on demand, so dropped weight buffers go back to the OS before a large allocation. */
import v8 from "node:v8";
import vm from "node:vm";

let gc: (() => void) | undefined;

/**
 * Runs V8's full collection. Typed arrays are freed only when V8 collects them, and nothing makes it
 * collect while native code (ORT building a session) allocates: without this, a tower's dropped
 * weights would still count towards peak memory while the next session is built.
 */
export function collectGarbage(): void {
  if (!gc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      v8.setFlagsFromString("--expose-gc");
      gc = vm.runInNewContext("gc") as () => void;
    }
  }
  gc();
}
