/** @file Every export of the package's entry points (`clip-ts`, `clip-ts/graph`, `clip-ts/search`) carries a doc comment. */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import ts from "typescript";
import { ROOT } from "../helpers/shared.js";

/** Names exported by `entry` whose declaration has no doc comment (namespace re-exports excepted). */
export function undocumentedExports(entry: string): string[] {
  const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, types: ["node"] });
  const checker = program.getTypeChecker();
  const mod = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const missing: string[] = [];
  for (const exp of checker.getExportsOfModule(mod)) {
    const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
    const decls = sym.declarations ?? [];
    if (decls.some((d) => ts.isSourceFile(d))) continue; // `export * as T`: the module's own exports
    if (!ts.displayPartsToString(sym.getDocumentationComment(checker)).trim()) {
      missing.push(`${exp.name} (${path.relative(ROOT, decls[0]!.getSourceFile().fileName)})`);
    }
  }
  return missing;
}

for (const entry of ["src/index.ts", "src/graph.ts", "src/index/index.ts"]) {
  test(`every export of ${entry} is documented`, () => {
    assert.deepEqual(undocumentedExports(path.join(ROOT, entry)), []);
  });
}
