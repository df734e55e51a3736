/** @file `clip tokenize`: texts to CLIP token ids, and `clip tokenize train`: learn a BPE vocabulary from captions. */
import { Command, Option } from "commander";
import { SUMMARIES } from "./summaries.js";
import { readFile, writeFile } from "node:fs/promises";
import { UserError } from "../errors.js";
import { printJson, progressBar, warn } from "./output.js";
import { intArg } from "./options.js";

const VOCAB_HELP =
  "vocabulary: bpe_simple_vocab_16e6.txt.gz (or a trained one), a Hugging Face vocab.json " +
  "(with merges.txt beside it) or tokenizer.json, or a checkpoint directory";

const EXAMPLES = `
Each text becomes one row: <|startoftext|>, its BPE ids, <|endoftext|>, zeros up to the context
length (77 for CLIP), exactly as clip.tokenize. Without --json each row prints as a JSON array on
its own line; with --json one JSON array of rows is printed.

Texts longer than the context: --truncate warn (default) cuts them as clip.tokenize(truncate=True)
and reports how many texts and tokens were cut; error stops instead; silent cuts quietly. --chunk
keeps everything: long texts become several rows (printed as {"tokens": rows, "textIndex": [text
of each row]}) so a model can average their embeddings.

Examples:
  clip tokenize --vocab bpe_simple_vocab_16e6.txt.gz "a photo of a cat"
  clip tokenize --vocab ./checkpoint --json -- "a dog" "-dash first"
  clip tokenize --vocab bpe_simple_vocab_16e6.txt.gz --input captions.txt --output ids.jsonl
  clip tokenize train --input captions.txt --vocab-size 8192 --out vocab.txt.gz`;

const TRAIN_EXAMPLES = `
Learns byte-level BPE merges from the captions (one per line) after CLIP's own cleaning and
pre-tokenization, and writes them in the format of bpe_simple_vocab_16e6.txt.gz, so --vocab, the
library's ClipTokenizer.fromFile and open_clip's tokenizer read the file as they read OpenAI's.
The vocabulary has 256 byte tokens, 256 word-final byte tokens, one token per merge and
<|startoftext|>/<|endoftext|>: --vocab-size must be at least 514; use it as text_cfg.vocab_size.

Example:
  clip tokenize train --input captions.txt --vocab-size 4096 --out vocab.txt.gz`;

/** One text per line; a final newline does not add an empty text; CRLF files read the same. */
async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8");
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}

/** Rows of a [n, ctx] tensor as JSON lines ("[49406,320,...,49407,0,0]"), written as ASCII bytes. */
function rowsAsJsonLines(data: Int32Array, ctx: number): Uint8Array {
  // every id has at most 10 digits, plus a separator each and "[]\n" per row
  const out = new Uint8Array(data.length * 11 + (data.length / ctx) * 3);
  const digits = new Uint8Array(10);
  let p = 0;
  for (let offset = 0; offset < data.length; offset += ctx) {
    out[p++] = 0x5b; // [
    for (let k = offset; k < offset + ctx; k++) {
      if (k > offset) out[p++] = 0x2c; // ,
      let v = data[k];
      if (v === 0) {
        out[p++] = 0x30;
        continue;
      }
      let d = 0;
      for (; v > 0; v = Math.floor(v / 10)) digits[d++] = 0x30 + (v % 10);
      while (d > 0) out[p++] = digits[--d];
    }
    out[p++] = 0x5d; // ]
    out[p++] = 0x0a;
  }
  return out.subarray(0, p);
}

interface TokenizeFlags {
  vocab?: string;
  context?: number;
  truncate: "error" | "warn" | "silent";
  chunk?: boolean;
  input?: string;
  output?: string;
  json?: boolean;
}

async function tokenizeAction(texts: string[], flags: TokenizeFlags): Promise<void> {
  if (!flags.vocab) throw new UserError("--vocab FILE is required (the vocabulary file or a checkpoint directory)");
  if (flags.input && texts.length > 0) throw new UserError("give texts either as arguments or with --input, not both");
  if (!flags.input && texts.length === 0) throw new UserError("no texts: give them as arguments, or --input FILE with one text per line");
  if (flags.output && !flags.input) throw new UserError("--output needs --input");
  const { ClipTokenizer } = await import("../tokenizer/index.js");
  const tokenizer = await ClipTokenizer.fromFile(flags.vocab);
  const list = flags.input ? await readLines(flags.input) : texts;

  if (flags.chunk) {
    const chunks = tokenizer.chunk(list, { contextLength: flags.context });
    if (flags.output) {
      await writeFile(flags.output, chunks.tokens.map((row, k) => JSON.stringify({ text: chunks.textIndex[k], tokens: row })).join("\n") + "\n");
      if (flags.json) printJson({ texts: list.length, rows: chunks.tokens.length, output: flags.output });
    } else printJson(chunks);
    return;
  }

  // the warning is worded below, for lines of a file or arguments
  const { data, shape, truncation } = tokenizer.tokenizeTensor(list, { contextLength: flags.context, truncate: flags.truncate, onWarning: () => {} });
  const ctx = shape[1];
  if (truncation.texts > 0 && flags.truncate === "warn") {
    const shown = truncation.indices.slice(0, 5).map((i) => (flags.input ? `line ${i + 1}` : `text ${i + 1}`));
    warn(
      `cut ${truncation.texts} of ${list.length} text(s) to ${ctx} tokens, ` +
        `dropping ${truncation.tokensDropped} token(s) (${shown.join(", ")}${truncation.texts > 5 ? ", ..." : ""}); ` +
        `use --chunk to keep them or --truncate silent to hide this`,
    );
  }
  if (flags.output) {
    await writeFile(flags.output, rowsAsJsonLines(data, ctx));
    if (flags.json) printJson({ texts: list.length, output: flags.output, truncated: truncation.texts, tokensDropped: truncation.tokensDropped });
  } else if (flags.json) printJson(Array.from({ length: shape[0] }, (_, i) => Array.from(data.subarray(i * ctx, (i + 1) * ctx))));
  else process.stdout.write(rowsAsJsonLines(data, ctx));
}

interface TrainFlags {
  input?: string;
  vocabSize: number;
  out: string;
  minFrequency: number;
  json?: boolean;
}

async function trainAction(flags: TrainFlags): Promise<void> {
  if (!flags.input) throw new UserError("clip tokenize train: --input FILE (captions, one per line) is required");
  const { trainBpe, writeBpeVocab } = await import("../tokenizer/index.js");
  const corpus = await readLines(flags.input);
  const bar = progressBar("merges", flags.vocabSize - 514);
  let done = 0;
  const trained = trainBpe(corpus, flags.vocabSize, {
    minFrequency: flags.minFrequency,
    onProgress: (merges) => {
      bar.tick(merges - done);
      done = merges;
    },
  });
  bar.stop();
  await writeBpeVocab(flags.out, trained.merges);
  if (trained.vocabSize < flags.vocabSize) {
    warn(
      `stopped at ${trained.vocabSize} tokens (${trained.merges.length} merges): no pair occurs ${flags.minFrequency}+ times any more; ` +
        `a larger corpus or --min-frequency 1 gives more`,
    );
  }
  const summary = { out: flags.out, vocabSize: trained.vocabSize, merges: trained.merges.length, captions: corpus.length, words: trained.words };
  if (flags.json) printJson(summary);
  else process.stdout.write(`wrote ${flags.out}: ${summary.vocabSize} tokens (${summary.merges} merges) from ${summary.captions} captions\n`);
}

export function register(program: Command): void {
  const tokenize = program
    .command("tokenize")
    .summary(SUMMARIES.tokenize)
    .description("turn texts into CLIP token ids (the reference's BPE, padded rows), or train a vocabulary")
    .argument("[text...]", "texts to tokenize (put -- before them if one starts with '-')")
    .option("--vocab <file>", VOCAB_HELP)
    .option("--context <n>", "context length: ids per row with <|startoftext|> and <|endoftext|> (default: the checkpoint's, else 77)", intArg("--context", 2))
    .addOption(
      new Option("--truncate <policy>", "texts longer than the context: error | warn (cut and report) | silent (cut)")
        .choices(["error", "warn", "silent"])
        .default("warn"),
    )
    .option("--chunk", "split long texts into several rows instead of cutting them")
    .option("--input <file>", "read the texts from a file, one per line")
    .option("--output <file>", "write the rows to a file as JSON lines (one array of ids per line)")
    .option("--json", "print one JSON document on stdout")
    .enablePositionalOptions()
    .addHelpText("after", EXAMPLES)
    .action((texts: string[], flags: TokenizeFlags) => tokenizeAction(texts, flags));

  tokenize
    .command("train")
    .description("learn a BPE vocabulary from a caption file and write it as a .txt.gz vocabulary")
    // `tokenize` parses --input and --json of `tokenize train ...` itself (the root program does
    // not use positional options), so they are read from the parent when not found here
    .option("--input <file>", "captions, one per line (required)")
    .requiredOption("--vocab-size <n>", "tokens in the vocabulary (at least 514)", intArg("--vocab-size", 514))
    .requiredOption("--out <file>", "where to write the vocabulary (gzipped, bpe_simple_vocab_16e6.txt.gz format)")
    .option("--min-frequency <n>", "never merge a pair seen fewer times", intArg("--min-frequency", 1), 2)
    .option("--json", "print a JSON summary on stdout")
    .addHelpText("after", TRAIN_EXAMPLES)
    .action((flags: TrainFlags, command: Command) => {
      const parent: Partial<TokenizeFlags> = command.parent?.opts<TokenizeFlags>() ?? {};
      return trainAction({ ...flags, input: flags.input ?? parent.input, json: flags.json ?? parent.json });
    });
}
