// The project's layer rules as one ESLint rule (DESIGN.md, "Layers"):
// 1. a folder of src/ imports only its own layer and earlier ones;
// 2. only src/runtime/ imports an ONNX Runtime package;
// 3. the browser-safe core (graph layers, the runtime core and its web adapter, models, tokenizer,
//    image math, safetensors bytes, the training step) imports
//    no Node-only module: no node: builtin, no sharp, no onnxruntime-node, no *.node.ts module of
//    ours. A dynamic import() of one of our *.node.ts modules stays allowed: it is how the core
//    reaches files on demand in Node (tokenizer.fromDir) without a bundler pulling Node in.
import { builtinModules } from "node:module";
import path from "node:path";

/** src/ folders (and files at its root) in import order: each may import its own row and the rows above. */
export const LAYERS = [
  ["errors.ts", "util"],
  ["ir"],
  ["autodiff"],
  ["onnx"],
  ["runtime"],
  ["nn"],
  ["models"],
  ["weights", "tokenizer", "image", "data"],
  ["clip"],
  ["train", "eval", "index"],
  ["index.ts", "graph.ts"],
  ["cli", "server", "web", "build"],
];

/** Files that must run in a browser (paths relative to src/); *.node.ts files are exempt. */
export const BROWSER_SAFE = [
  /^(errors\.ts|util\/|ir\/|autodiff\/|onnx\/|nn\/|models\/|tokenizer\/|image\/)/,
  /^train\/(graph|losses|optimizer|schedule|trainer)\.ts$/,
  /^runtime\/(core|ort\.web)\.ts$/,
  /^data\/synth\/(scene|raster|font)\.ts$/,
  /^weights\/(bytes|safetensors|dtype|source|hf)\.ts$/,
];

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const NODE_ONLY_PACKAGES = new Set(["sharp", "onnxruntime-node"]);
const ORT = /^onnxruntime-(node|web|common)(\/|$)/;

/** The layer of a path relative to src/: its top folder, or the file name for files at the root. */
function layerOf(rel) {
  const key = rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : rel;
  const i = LAYERS.findIndex((row) => row.includes(key));
  return i < 0 ? null : { index: i, name: key };
}

/** @type {import("eslint").Rule.RuleModule} */
const importsRule = {
  meta: {
    type: "problem",
    docs: { description: "enforce DESIGN.md's layers, the browser-safe core and 'only src/runtime imports ONNX Runtime'" },
    schema: [{ type: "object", properties: { srcRoot: { type: "string" } }, additionalProperties: false }],
  },
  create(context) {
    const srcRoot = path.resolve(context.cwd, (context.options[0] && context.options[0].srcRoot) || "src");
    const file = context.filename;
    const rel = path.relative(srcRoot, file).split(path.sep).join("/");
    if (rel.startsWith("..") || path.isAbsolute(rel)) return {};
    const from = layerOf(rel);
    const browserSafe = !rel.endsWith(".node.ts") && BROWSER_SAFE.some((re) => re.test(rel));
    const inRuntime = rel.startsWith("runtime/");

    function check(node, spec, dynamic) {
      if (typeof spec !== "string") return;
      if (ORT.test(spec) && !inRuntime) {
        context.report({ node, message: `src/${rel} imports ${spec}: only src/runtime/ may import ONNX Runtime` });
      }
      if (browserSafe && !dynamic && (NODE_BUILTINS.has(spec) || NODE_ONLY_PACKAGES.has(spec.split("/")[0]))) {
        context.report({ node, message: `src/${rel} is browser-safe core but imports the Node-only module "${spec}" (move the Node part to a *.node.ts module)` });
      }
      if (!spec.startsWith(".")) return;
      if (browserSafe && !dynamic && /\.node(\.js)?$/.test(spec)) {
        context.report({ node, message: `src/${rel} is browser-safe core but imports the Node-only module "${spec}" (import it dynamically, or move this code to a *.node.ts module)` });
      }
      const target = path.relative(srcRoot, path.resolve(path.dirname(file), spec)).split(path.sep).join("/").replace(/\.js$/, ".ts");
      if (target.startsWith("..")) return;
      const to = layerOf(target);
      if (from && to && to.index > from.index) {
        context.report({ node, message: `src/${rel} (layer "${from.name}") imports src/${target} (layer "${to.name}", later in DESIGN.md's order): imports go only to earlier layers` });
      }
    }

    return {
      ImportDeclaration: (node) => check(node, node.source.value, false),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, false),
      ExportAllDeclaration: (node) => check(node, node.source.value, false),
      ImportExpression: (node) => node.source.type === "Literal" && check(node, node.source.value, true),
    };
  },
};

export default { rules: { imports: importsRule } };
