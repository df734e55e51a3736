/** @file A full garbage collection on demand, so dropped weight buffers go back to the OS before a large allocation. */
import { nodeV8, nodeVm } from "./builtins.node.js";

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
      nodeV8().setFlagsFromString("--expose-gc");
      gc = nodeVm().runInNewContext("gc") as () => void;
    }
  }
  gc();
}
