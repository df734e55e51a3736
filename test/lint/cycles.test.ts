/** @file No import cycles anywhere in src/ (static or dynamic imports): each module can be read, and loaded, after what it imports. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../helpers/shared.js";

/** Module -> the modules it imports (relative specifiers, .js mapped back to .ts). */
function importGraph(dir: string): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    if (!f.endsWith(".ts")) continue;
    const file = path.join(dir, f);
    const src = fs.readFileSync(file, "utf8");
    const deps = [...src.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)"(\.[^"]+)"/g)].map((m) => path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, ".ts")));
    g.set(file, deps);
  }
  return g;
}

/** One cycle as a list of files, or null (depth-first search with colours). */
export function findCycle(g: Map<string, string[]>): string[] | null {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (v: string): string[] | null => {
    state.set(v, 1);
    stack.push(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (state.get(w) === 1) return [...stack.slice(stack.indexOf(w)), w];
      if (!state.has(w)) {
        const c = visit(w);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(v, 2);
    return null;
  };
  for (const v of g.keys()) {
    if (state.has(v)) continue;
    const c = visit(v);
    if (c) return c;
  }
  return null;
}

test("src/ has no import cycle", () => {
  const cycle = findCycle(importGraph(path.join(ROOT, "src")));
  assert.equal(cycle, null, `import cycle: ${cycle?.map((f) => path.relative(ROOT, f)).join(" -> ")}`);
});

test("the cycle finder finds a planted cycle", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assert.deepEqual(findCycle(g), ["a", "b", "c", "a"]);
  assert.equal(findCycle(new Map([["a", ["b"]], ["b", []]])), null);
});
