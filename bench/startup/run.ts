/**
 * @file Start-up cost of the package's main entry against the CLI's own start, each a fresh process,
 * alternated for `--runs` rounds; prints medians of wall time and of CPU time (user + system).
 * `import("clip-ts")` resolves through package.json's "exports" (the bundle in dist/pkg/, what an
 * installed package gives); dist/src/index.js, the unbundled modules, is measured beside it.
 *
 *   node dist/bench/startup/run.js --runs 15
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const { values } = parseArgs({ options: { runs: { type: "string", default: "15" }, json: { type: "boolean" } } });
const runs = Number(values.runs);

// a program whose only line is `import "clip-ts"`, run as a file as bin/clip.js is (inside the
// repository, where "clip-ts" resolves as the package's self-reference)
const IMPORT_FILE = path.join(ROOT, "dist/bench/startup/import_main.mjs");
fs.writeFileSync(IMPORT_FILE, 'import "clip-ts";\n');

const CASES: Record<string, string[]> = {
  "node (nothing)": ["-e", "0"],
  'a file with `import "clip-ts"`': [IMPORT_FILE],
  'import("clip-ts") from -e': ["--input-type=module", "-e", 'await import("clip-ts")'],
  'import("clip-ts/graph")': ["--input-type=module", "-e", 'await import("clip-ts/graph")'],
  'import("clip-ts/search")': ["--input-type=module", "-e", 'await import("clip-ts/search")'],
  "import of dist/src/index.js (unbundled)": ["--input-type=module", "-e", `await import(${JSON.stringify(path.join(ROOT, "dist/src/index.js"))})`],
  "clip --help": [path.join(ROOT, "bin/clip.js"), "--help"],
  "clip embed --help": [path.join(ROOT, "bin/clip.js"), "embed", "--help"],
};

/** Wall and CPU seconds of one fresh `node ARGS` (CPU from the child's resource usage). */
function once(args: string[]): { wall: number; cpu: number } {
  const t0 = process.hrtime.bigint();
  // run from the repository root: "clip-ts" resolves there as the package's self-reference
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", process.execPath, ...args], { encoding: "utf8", cwd: ROOT });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed: ${r.stderr}`);
  const [u, s] = r.stderr.trim().split("\n").pop()!.split(" ").map(Number);
  return { wall, cpu: u! + s! };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const samples = new Map(Object.keys(CASES).map((k) => [k, { wall: [] as number[], cpu: [] as number[] }]));
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(CASES)) {
    const r = once(args);
    samples.get(name)!.wall.push(r.wall);
    samples.get(name)!.cpu.push(r.cpu);
  }
}
const rows = [...samples].map(([name, s]) => ({ name, wall_s: median(s.wall), cpu_s: median(s.cpu) }));
if (values.json) console.log(JSON.stringify({ runs, rows }));
else {
  console.log(`| start | wall (median of ${runs}) | CPU user+sys |\n| --- | --- | --- |`);
  for (const r of rows) console.log(`| ${r.name} | ${r.wall_s.toFixed(3)} s | ${r.cpu_s.toFixed(2)} s |`);
}
