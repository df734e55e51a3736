/**
 * @file One in-process measurement, run as its own process by run.ts so that each repeat starts
 * cold, as each Python measurement does. Prints JSON with wall and CPU seconds of:
 *   load    the vocabulary;
 *   first   one tokenize() pass over --input with that tokenizer: cache empty, JIT cold;
 *   steady  one pass over --input with a new tokenizer (cache empty) after the JIT has warmed up
 *           on --warmup (other captions, tokenized by yet another tokenizer): a long-running
 *           process's speed on text it has not seen;
 *   warm    a second pass of that tokenizer over --input (cache warm).
 *
 * `--api tensor` times tokenizeTensor() (one Int32Array [N, context], the form of clip.tokenize's
 * tensor and what ClipModel feeds the text tower) instead of tokenize() (an array per row).
 *
 *   node dist/bench/tokenizer/inprocess.js --input captions.txt --warmup other.txt [--vocab FILE] [--api rows|tensor]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ClipTokenizer } from "../../src/tokenizer/index.js";
import { VOCAB } from "../../test/helpers/shared.js";

const { values } = parseArgs({ options: { input: { type: "string" }, warmup: { type: "string" }, vocab: { type: "string", default: VOCAB }, api: { type: "string", default: "rows" } } });
const lines = (file: string): string[] => {
  const text = readFileSync(file, "utf8");
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
};
const captions = lines(values.input!);
const pass = (t: ClipTokenizer, texts: string[]): unknown => (values.api === "tensor" ? t.tokenizeTensor(texts, { truncate: "silent" }) : t.tokenize(texts, { truncate: "silent" }));

/** wall and CPU seconds of fn (CPU: all threads of this process, GC and JIT compilers included) */
async function time(fn: () => unknown): Promise<[number, number]> {
  const t = performance.now();
  const c = process.cpuUsage();
  await fn();
  const u = process.cpuUsage(c);
  return [(performance.now() - t) / 1000, (u.user + u.system) / 1e6];
}

let tokenizer!: ClipTokenizer;
const load = await time(async () => (tokenizer = await ClipTokenizer.fromFile(values.vocab!)));
const first = await time(() => pass(tokenizer, captions));
const result: Record<string, number> = { captions: captions.length, load_s: load[0], load_cpu_s: load[1], first_s: first[0], first_cpu_s: first[1] };
if (values.warmup) {
  const other = lines(values.warmup);
  const warmer = new ClipTokenizer(tokenizer.vocabulary);
  for (let k = 0; k < 10; k++) pass(warmer, other);
  const fresh = new ClipTokenizer(tokenizer.vocabulary);
  const steady = await time(() => pass(fresh, captions));
  const warm = await time(() => pass(fresh, captions));
  Object.assign(result, { steady_s: steady[0], steady_cpu_s: steady[1], warm_s: warm[0], warm_cpu_s: warm[1] });
}
process.stdout.write(JSON.stringify(result) + "\n");
