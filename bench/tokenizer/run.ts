/**
 * @file Tokenizer throughput on the Flickr8k training captions (../shared/datasets/flickr8k
 * train-*.tar, every KEY.json's 5 captions), ours next to a Python implementation of the same
 * algorithm (reference_tokenizer.py: python3-regex, with and without ftfy), in one run:
 *   - in-process (inprocess.ts is our side): captions/s of the first tokenize() pass in a fresh
 *     process (cache empty, and for us the JIT cold); of a long-running process on captions it
 *     has not seen (a new tokenizer, cache empty, after the dev split's captions went through
 *     another one: the JIT warm); of a second pass (cache warm); and the vocabulary load;
 *   - whole processes: `clip tokenize --input --output` against `reference_tokenizer.py --input
 *     --output`, start-up and vocabulary load included, and whether both wrote byte-identical
 *     JSON lines; also the tokenize command registered alone (cli_alone.ts), since bin/clip.js
 *     loads every command's modules at start.
 * Sides alternate within each repeat; medians are reported, as wall time and as CPU time (the
 * process's own, all threads; children's from /proc/self/stat), which a loaded machine disturbs less.
 *
 * Run (after `npm run build`):
 *   node dist/bench/tokenizer/run.js [--repeats 5] [--python python3] [--json]
 * The Python side needs `regex` and, for the ftfy rows, `ftfy` importable by --python (or $PYTHON).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { CLI, DATASETS, ROOT, VOCAB } from "../../test/helpers/shared.js";
import { shardCaptions } from "../../test/tokenizer/flickr.js";

const { values } = parseArgs({
  options: {
    repeats: { type: "string", default: "5" },
    python: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const repeats = Number(values.repeats);
const REFERENCE_PY = path.join(ROOT, "bench/tokenizer/reference_tokenizer.py");
const INPROCESS = path.join(ROOT, "dist/bench/tokenizer/inprocess.js");
const ALONE = path.join(ROOT, "dist/bench/tokenizer/cli_alone.js");

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const log = (line: string): void => void process.stderr.write(line + "\n");

/** CPU seconds of this process's waited-for children (cutime + cstime). */
function childrenCpu(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** Runs a process to the end; its wall and CPU seconds. */
function timeProcess(cmd: string, args: string[]): { wall: number; cpu: number } {
  const c = childrenCpu();
  const t = performance.now();
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, CLIP_NO_PROGRESS: "1" } });
  return { wall: (performance.now() - t) / 1000, cpu: childrenCpu() - c };
}

/** The first interpreter that imports regex (and ftfy, if any does). */
function findPython(): { python: string; ftfy: string | null } | null {
  const candidates = [values.python, process.env.PYTHON, "python3", "/usr/bin/python3"].filter((p): p is string => !!p);
  let fallback: { python: string; ftfy: string | null } | null = null;
  for (const python of candidates) {
    const r = spawnSync(python, ["-c", "import regex\ntry:\n import ftfy; print(ftfy.__version__)\nexcept ImportError: print('')"], { encoding: "utf8" });
    if (r.status !== 0) continue;
    const ftfy = r.stdout.trim() || null;
    if (ftfy) return { python, ftfy };
    fallback ??= { python, ftfy: null };
  }
  return fallback;
}

type Sample = { wall: number[]; cpu: number[] };
const sample = (): Sample => ({ wall: [], cpu: [] });
const push = (s: Sample, wall: number, cpu: number): void => {
  s.wall.push(wall);
  s.cpu.push(cpu);
};
const med = (s: Sample): { wall: number; cpu: number } | null => (s.wall.length ? { wall: median(s.wall), cpu: median(s.cpu) } : null);

async function main(): Promise<void> {
  const shards = readdirSync(path.join(DATASETS, "flickr8k"))
    .filter((f) => /^train-\d+\.tar$/.test(f))
    .sort();
  const captions = shards.flatMap((s) => shardCaptions(path.join(DATASETS, "flickr8k", s)));
  const n = captions.length;
  const tmp = mkdtempSync(path.join(tmpdir(), "clip-bench-tokenizer-"));
  const input = path.join(tmp, "captions.txt");
  writeFileSync(input, captions.join("\n") + "\n");
  const py = findPython();
  const variants = py ? (py.ftfy ? ["ftfy", "plain"] : ["plain"]) : [];
  const load0 = loadavg()[0];
  log(`${n} captions from flickr8k/${shards.join(", ")}; python: ${py ? `${py.python} (ftfy ${py.ftfy ?? "missing"})` : "none with regex"}`);

  // in-process: seconds of the vocabulary load and of one pass over all captions, three ways
  const dev = shardCaptions(path.join(DATASETS, "flickr8k/dev-000000.tar"));
  const warmup = path.join(tmp, "dev.txt");
  writeFileSync(warmup, dev.join("\n") + "\n");
  const PHASES = ["load", "first", "steady", "warm"] as const;
  const inproc: Record<string, Record<(typeof PHASES)[number], Sample>> = {};
  for (const side of ["ours", "tensor", ...variants]) inproc[side] = { load: sample(), first: sample(), steady: sample(), warm: sample() };
  const record = (side: string, m: Record<string, number>): void => {
    for (const phase of PHASES) push(inproc[side][phase], m[`${phase}_s`], m[`${phase}_cpu_s`]);
  };
  for (let r = 0; r < repeats; r++) {
    record("ours", JSON.parse(execFileSync(process.execPath, [INPROCESS, "--input", input, "--warmup", warmup], { encoding: "utf8" })));
    record("tensor", JSON.parse(execFileSync(process.execPath, [INPROCESS, "--input", input, "--warmup", warmup, "--api", "tensor"], { encoding: "utf8" })));
    for (const v of variants) {
      const args = [REFERENCE_PY, "--vocab", VOCAB, "--bench", input, "--warmup", warmup, ...(v === "plain" ? ["--no-ftfy"] : [])];
      record(v, JSON.parse(execFileSync(py!.python, args, { encoding: "utf8" })));
    }
    log(`in-process ${r + 1}/${repeats}: ` + ["ours", "tensor", ...variants].map((s) => `${s} ${Math.round(n / inproc[s].first.wall[r])}/s first, ${Math.round(n / inproc[s].steady.wall[r])}/s steady`).join("; "));
  }

  // whole processes
  const whole: Record<string, Sample> = { ours: sample(), alone: sample(), start: sample(), ftfy: sample(), plain: sample() };
  const outputs: Record<string, string> = {};
  const ourArgs = (out: string): string[] => ["tokenize", "--vocab", VOCAB, "--input", input, "--output", out, "--truncate", "silent"];
  for (let r = 0; r < repeats; r++) {
    outputs.alone = path.join(tmp, "alone.jsonl");
    let t = timeProcess(process.execPath, [ALONE, ...ourArgs(outputs.alone)]);
    push(whole.alone, t.wall, t.cpu);
    // bin/clip.js loads every command's modules; if one of them is broken, say so and go on
    try {
      outputs.ours = path.join(tmp, "ours.jsonl");
      t = timeProcess(process.execPath, [CLI, ...ourArgs(outputs.ours)]);
      push(whole.ours, t.wall, t.cpu);
      t = timeProcess(process.execPath, [CLI, "--help"]);
      push(whole.start, t.wall, t.cpu);
    } catch {
      if (r === 0) log("bin/clip.js failed; its rows are left empty");
      delete outputs.ours;
    }
    for (const v of variants) {
      outputs[v] = path.join(tmp, `${v}.jsonl`);
      const args = [REFERENCE_PY, "--vocab", VOCAB, "--input", input, "--output", outputs[v], ...(v === "plain" ? ["--no-ftfy"] : [])];
      t = timeProcess(py!.python, args);
      push(whole[v], t.wall, t.cpu);
    }
    log(`whole process ${r + 1}/${repeats}: ` + ["ours", "alone", ...variants].map((s) => `${s} ${whole[s].wall[r]?.toFixed(2) ?? "-"} s`).join(", "));
  }
  // every output against the tokenize command's (bin/clip.js's too, when it ran)
  const identical: Record<string, boolean> = {};
  for (const k of ["ours", ...variants]) if (outputs[k]) identical[k] = readFileSync(outputs[k]).equals(readFileSync(outputs.alone));
  rmSync(tmp, { recursive: true, force: true });

  const result = {
    machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}`,
    load_average: [load0, loadavg()[0]],
    captions: n,
    shards: shards.map((s) => `flickr8k/${s}`),
    repeats,
    python: py,
    warmup_captions: `${dev.length} (flickr8k/dev-000000.tar)`,
    in_process_seconds: Object.fromEntries(Object.entries(inproc).map(([k, v]) => [k, Object.fromEntries(PHASES.map((p) => [p, med(v[p])]))])),
    whole_process_seconds: Object.fromEntries(Object.entries(whole).map(([k, v]) => [k, med(v)])),
    identical_output_to_tokenize_command: identical,
  };
  if (values.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    return;
  }

  const rate = (s: number | undefined): string => (s ? Math.round(n / s).toLocaleString("en-US") : "-");
  const x = (a: number | undefined, b: number | undefined): string => (a && b ? `${(a / b).toFixed(1)}x` : "-");
  const ip = inproc;
  const o = (phase: "first" | "steady"): { wall: number; cpu: number } => med(ip.ours[phase])!;
  const row = (label: string, side: string, phase: "first" | "steady" | "warm"): string => {
    const p = med(ip[side]?.[phase] ?? sample());
    const l = phase === "first" ? med(ip[side]?.load ?? sample()) : null;
    const base = phase === "warm" ? null : o(phase);
    const t = phase === "warm" ? null : med(ip.tensor[phase]);
    const vs = side === "ours" || side === "tensor" || !base ? "" : `${x(p?.wall, base.wall)} / ${x(p?.cpu, base.cpu)}${t ? ` (tensor: ${x(p?.wall, t.wall)} / ${x(p?.cpu, t.cpu)})` : ""}`;
    return `| ${label} | ${rate(p?.wall)} | ${rate(p?.cpu)} | ${l ? `${l.wall.toFixed(2)} / ${l.cpu.toFixed(2)}` : ""} | ${vs} |`;
  };
  const wrow = (label: string, side: string, same?: boolean): string => {
    const w = med(whole[side]);
    const o = med(whole.ours);
    const a = med(whole.alone)!;
    const vs = side === "ours" || side === "alone" || side === "start" ? "" : `${x(w?.wall, o?.wall)} / ${x(w?.wall, a.wall)}`;
    return `| ${label} | ${w ? w.wall.toFixed(2) : "-"} | ${w ? w.cpu.toFixed(2) : "-"} | ${side === "start" ? "" : rate(w?.wall)} | ${vs} | ${same === undefined ? "" : same} |`;
  };
  // the issue's baseline: the original tokenizer with ftfy did 13,500 captions/s after a 2.1 s start
  const original = 2.1 + n / 13500;
  const lines = [
    `machine: ${result.machine}; load average ${load0.toFixed(1)} -> ${loadavg()[0].toFixed(1)}; ${n} captions (${result.shards.join(", ")}); medians of ${repeats}`,
    `python: ${py ? `${py.python}, ftfy ${py.ftfy ?? "not installed"}` : "not found"}; warm-up text: ${result.warmup_captions}`,
    "",
    "| in-process, one pass over the captions | captions/s (wall) | captions/s (CPU) | vocabulary load s (wall / CPU) | clip-ts faster by (wall / CPU) |",
    "| --- | --- | --- | --- | --- |",
    row("clip-ts tokenize(), first pass in a fresh process", "ours", "first"),
    row("clip-ts tokenizeTensor() ([N, 77] like clip.tokenize), first pass in a fresh process", "tensor", "first"),
    row("Python + ftfy, first pass", "ftfy", "first"),
    row("Python, no ftfy, first pass", "plain", "first"),
    row("clip-ts, new tokenizer in a warmed-up process (cache empty)", "ours", "steady"),
    row("clip-ts tokenizeTensor(), same", "tensor", "steady"),
    row("Python + ftfy, new tokenizer after warm-up (cache empty)", "ftfy", "steady"),
    row("Python, no ftfy, new tokenizer after warm-up", "plain", "steady"),
    row("clip-ts, second pass (cache warm)", "ours", "warm"),
    row("Python + ftfy, second pass (cache warm)", "ftfy", "warm"),
    `| original openai/CLIP + ftfy (the issue's figure) | 13,500 | | 2.1 (start) | first pass ${(n / o("first").wall / 13500).toFixed(1)}x (tensor ${(n / med(ip.tensor.first)!.wall / 13500).toFixed(1)}x), warmed-up ${(n / o("steady").wall / 13500).toFixed(1)}x (tensor ${(n / med(ip.tensor.steady)!.wall / 13500).toFixed(1)}x) (wall) |`,
    "",
    "| whole process: captions file -> JSON lines | wall s | CPU s | captions/s (wall) | clip-ts faster by (clip tokenize / command alone, wall) | output identical to the command's |",
    "| --- | --- | --- | --- | --- | --- |",
    wrow("`clip tokenize` (bin/clip.js)", "ours", identical.ours),
    wrow("the tokenize command alone (cli_alone.js)", "alone"),
    wrow("`clip --help` (bin/clip.js start-up only)", "start"),
    wrow("reference_tokenizer.py + ftfy", "ftfy", identical.ftfy),
    wrow("reference_tokenizer.py, no ftfy", "plain", identical.plain),
    `| original openai/CLIP + ftfy (2.1 s start + 13,500/s) | ${original.toFixed(2)} | | ${rate(original)} | ${x(original, med(whole.ours)?.wall)} / ${x(original, med(whole.alone)!.wall)} | |`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

await main();
