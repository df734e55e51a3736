/** @file The registry of CLI subcommands: the module that registers each one, loaded only when needed
 * (start-up stays fast: `clip tokenize` never loads sharp or ONNX Runtime). */
import type { Command } from "commander";

type Register = (program: Command) => void;
type Loader = () => Promise<Register>;

const model: Loader = async () => (await import("./model.js")).register;

/** Subcommand name -> the module that registers it (one module may register several). */
export const COMMANDS: Record<string, Loader> = {
  embed: model,
  init: model,
  bench: model,
  train: async () => (await import("./train.js")).register,
  data: async () => (await import("./data.js")).register,
  tokenize: async () => (await import("./tokenize.js")).register,
  classify: async () => (await import("./classify.js")).register,
  eval: async () => (await import("./eval.js")).register,
  demo: async () => (await import("./demo.js")).register,
  index: async () => (await import("./index.js")).register,
  search: async () => (await import("./search.js")).register,
  dedup: async () => (await import("./dedup.js")).register,
};

/** One line per subcommand for `clip --help`; each module sets the same text as its command's summary. */
export const SUMMARIES: Record<keyof typeof COMMANDS, string> = {
  embed: "embed images and/or texts with a checkpoint; logits_per_image when both are given",
  init: "write a freshly initialized checkpoint of a preset",
  bench: "measure image and text encoding throughput",
  train: "train CLIP from scratch or fine-tune a checkpoint",
  data: "build and inspect datasets (WebDataset shards, CSV, folders, the synthetic world)",
  tokenize: "turn texts into CLIP token ids, or train a vocabulary",
  classify: "zero-shot classify images with class names and prompt templates",
  eval: "evaluate a checkpoint: zero-shot, retrieval, linear probe",
  demo: "the offline main job: train a small CLIP on a procedural world and report what it learned",
  index: "embed folders of images or datasets into a searchable LanceDB index (incremental)",
  search: "search an index by text, image, or like an indexed image",
  dedup: "find near-duplicate images within an index, or the overlap of two indexes",
};

/**
 * The registration functions needed for argv: the named subcommand's module only (also for
 * `clip help NAME`); otherwise (`clip --help`, a typo) the summaries alone, so listing the
 * commands loads none of their dependencies.
 */
export async function registrations(argv: readonly string[]): Promise<Register[]> {
  const words = argv.filter((a) => !a.startsWith("-"));
  const name = words[0] === "help" ? words[1] : words[0];
  if (name && COMMANDS[name]) return [await COMMANDS[name]()];
  return [(program) => Object.entries(SUMMARIES).forEach(([n, text]) => program.command(n).summary(text).helpOption(false))];
}
