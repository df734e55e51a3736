/** @file The registry of CLI subcommands: the module that registers each one, loaded only when needed
 * (start-up stays fast: `clip tokenize` never loads sharp or ONNX Runtime). */
import type { Command } from "commander";
import { SUMMARIES } from "./summaries.js";

type Register = (program: Command) => void;
type Loader = () => Promise<Register>;

const model: Loader = async () => (await import("./model.js")).register;

/** Subcommand name -> the module that registers it (one module may register several). */
export const COMMANDS: Record<keyof typeof SUMMARIES, Loader> = {
  embed: model,
  init: model,
  bench: model,
  train: async () => (await import("./train.js")).register,
  data: async () => (await import("./data.js")).register,
  tokenize: async () => (await import("./tokenize.js")).register,
  classify: async () => (await import("./classify.js")).register,
  eval: async () => (await import("./eval.js")).register,
  demo: async () => (await import("./demo.js")).register,
  quantize: async () => (await import("./quantize.js")).register,
  pull: async () => (await import("./pull.js")).register,
  index: async () => (await import("./index.js")).register,
  search: async () => (await import("./search.js")).register,
  dedup: async () => (await import("./dedup.js")).register,
  serve: async () => (await import("./serve.js")).register,
  web: async () => (await import("./web.js")).register,
};


/**
 * The registration functions needed for argv: the named subcommand's module only (also for
 * `clip help NAME`); otherwise (`clip --help`, a typo) the summaries alone, so listing the
 * commands loads none of their dependencies.
 */
export async function registrations(argv: readonly string[]): Promise<Register[]> {
  const words = argv.filter((a) => !a.startsWith("-"));
  const name = words[0] === "help" ? words[1] : words[0];
  if (name && Object.hasOwn(COMMANDS, name)) return [await COMMANDS[name as keyof typeof COMMANDS]()];
  return [(program) => Object.entries(SUMMARIES).forEach(([n, text]) => program.command(n).summary(text).helpOption(false))];
}
