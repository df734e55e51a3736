/**
 * @file The layer rules (eslint/layers.js) fail on planted violations and pass clean code: the
 * rule itself is tested, through ESLint's own API with the project's configuration.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ESLint } from "eslint";
import { ROOT } from "../helpers/shared.js";

const eslint = new ESLint({ cwd: ROOT });

/** The layer rule's messages for `code` linted as if it were the file `file` (relative to the repository). */
async function layerErrors(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return r!.messages.filter((m) => m.ruleId === "layers/imports").map((m) => m.message);
}

const cases: { file: string; code: string; expect: RegExp | null }[] = [
  // browser-safe core: no Node built-ins, no sharp, no onnxruntime-node, no *.node.ts module of ours
  { file: "src/models/clip/planted.ts", code: 'import fs from "node:fs";\nexport const x = fs;\n', expect: /browser-safe core but imports the Node-only module "node:fs"/ },
  { file: "src/tokenizer/planted.ts", code: 'import { readFileSync } from "fs";\nexport const x = readFileSync;\n', expect: /Node-only module "fs"/ },
  { file: "src/image/planted.ts", code: 'import sharp from "sharp";\nexport const x = sharp;\n', expect: /Node-only module "sharp"/ },
  { file: "src/image/planted.ts", code: 'export { ImagePool } from "./pool.node.js";\n', expect: /Node-only module "\.\/pool\.node\.js"/ },
  { file: "src/train/losses.ts", code: 'import os from "node:os";\nexport const x = os;\n', expect: /browser-safe core/ },
  { file: "src/runtime/core.ts", code: 'import fs from "node:fs";\nexport const x = fs;\n', expect: /browser-safe core but imports the Node-only module "node:fs"/ },
  { file: "src/runtime/ort.web.ts", code: 'import * as ort from "onnxruntime-node";\nexport const x = ort;\n', expect: /Node-only module "onnxruntime-node"/ },
  { file: "src/train/trainer.ts", code: 'export { nodeBackend } from "../runtime/ort.node.js";\n', expect: /Node-only module "\.\.\/runtime\/ort\.node\.js"/ },
  { file: "src/data/synth/scene.ts", code: 'import zlib from "node:zlib";\nexport const x = zlib;\n', expect: /browser-safe core/ },
  // only src/runtime imports ONNX Runtime
  { file: "src/eval/planted.ts", code: 'import * as ort from "onnxruntime-node";\nexport const x = ort;\n', expect: /only src\/runtime\/ may import ONNX Runtime/ },
  { file: "src/clip/planted.ts", code: 'export const x = () => import("onnxruntime-web");\n', expect: /only src\/runtime\/ may import ONNX Runtime/ },
  // imports go to earlier layers only
  { file: "src/models/clip/planted.ts", code: 'import { loadCheckpoint } from "../../weights/checkpoint.js";\nexport const x = loadCheckpoint;\n', expect: /layer "models"\) imports src\/weights\/checkpoint\.ts \(layer "weights"/ },
  { file: "src/ir/planted.ts", code: 'import { emitModel } from "../onnx/emit.js";\nexport const x = emitModel;\n', expect: /layer "ir"\) imports src\/onnx\/emit\.ts/ },
  { file: "src/eval/planted.ts", code: 'import { main } from "../cli/main.js";\nexport const x = main;\n', expect: /layer "eval"\) imports src\/cli\/main\.ts/ },
  { file: "src/weights/planted.ts", code: 'import { ClipModel } from "../clip/model.js";\nexport const x = ClipModel;\n', expect: /layer "weights"\) imports src\/clip\/model\.ts/ },
  // allowed: Node in *.node.ts, a dynamic import of a Node-only module, earlier layers, the runtime's ORT
  { file: "src/image/planted.node.ts", code: 'import fs from "node:fs";\nexport const x = fs;\n', expect: null },
  { file: "src/tokenizer/planted.ts", code: 'export const load = () => import("./files.node.js");\n', expect: null },
  { file: "src/clip/planted.ts", code: 'import { loadCheckpoint } from "../weights/checkpoint.js";\nexport const x = loadCheckpoint;\n', expect: null },
  { file: "src/runtime/planted.ts", code: 'import * as ort from "onnxruntime-node";\nexport const x = ort;\n', expect: null },
  { file: "src/runtime/ort.node.ts", code: 'import fs from "node:fs";\nimport * as ort from "onnxruntime-node";\nexport const x = [fs, ort];\n', expect: null },
  { file: "src/runtime/ort.web.ts", code: 'import * as ort from "onnxruntime-web/wasm";\nexport const x = ort;\n', expect: null },
  { file: "src/eval/planted.ts", code: 'import fs from "node:fs";\nexport const x = fs;\n', expect: null },
];

for (const c of cases) {
  test(`layers/imports: ${c.expect ? "refuses" : "allows"} ${c.file}: ${c.code.split("\n")[0]}`, async () => {
    const errors = await layerErrors(c.file, c.code);
    if (c.expect) {
      assert.equal(errors.length, 1, `expected one layer error, got ${JSON.stringify(errors)}`);
      assert.match(errors[0]!, c.expect);
    } else {
      assert.deepEqual(errors, []);
    }
  });
}

test("the sources as they are pass the layer rule", async () => {
  const results = await eslint.lintFiles([path.join(ROOT, "src")]);
  const bad = results.flatMap((r) => r.messages.filter((m) => m.ruleId === "layers/imports").map((m) => `${r.filePath}: ${m.message}`));
  assert.deepEqual(bad, []);
});
