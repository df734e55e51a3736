/**
 * @file One in-process measurement, run as its own process by run.ts so that each repeat starts
 * cold (fresh cache, fresh JIT), as each Python measurement does: loads the vocabulary, tokenizes
 * the captions file once, then once more with the cache warm; prints JSON.
 *
 *   node dist/bench/tokenizer/inprocess.js --input captions.txt [--vocab FILE]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ClipTokenizer } from "../../src/tokenizer/index.js";
import { VOCAB } from "../../test/helpers/shared.js";

const { values } = parseArgs({ options: { input: { type: "string" }, vocab: { type: "string", default: VOCAB } } });
const text = readFileSync(values.input!, "utf8");
const captions = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");

/** CPU seconds of this process so far (all its threads: GC and zlib work included). */
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let t = performance.now();
let c = cpu();
const tokenizer = await ClipTokenizer.fromFile(values.vocab!);
const load = [(performance.now() - t) / 1000, cpu() - c];
t = performance.now();
c = cpu();
tokenizer.tokenize(captions, { truncate: "silent" });
const cold = [(performance.now() - t) / 1000, cpu() - c];
t = performance.now();
c = cpu();
tokenizer.tokenize(captions, { truncate: "silent" });
const warm = [(performance.now() - t) / 1000, cpu() - c];
const result = { captions: captions.length, load_s: load[0], load_cpu_s: load[1], tokenize_s: cold[0], tokenize_cpu_s: cold[1], warm_tokenize_s: warm[0], warm_tokenize_cpu_s: warm[1] };
process.stdout.write(JSON.stringify(result) + "\n");
