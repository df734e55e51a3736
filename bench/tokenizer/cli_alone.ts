/**
 * @file `clip tokenize` registered alone on a bare commander program: the whole-process cost of
 * the tokenize command itself, without the start-up of the other commands that bin/clip.js loads.
 *
 *   node dist/bench/tokenizer/cli_alone.js tokenize --vocab FILE --input IN --output OUT
 */
import { Command } from "commander";
import { register } from "../../src/cli/tokenize.js";

const program = new Command().name("clip").exitOverride();
register(program);
try {
  await program.parseAsync(process.argv.slice(2), { from: "user" });
} catch (e) {
  process.stderr.write(`clip: error: ${(e as Error).message}\n`);
  process.exitCode = 2;
}
