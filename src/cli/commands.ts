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
};

/** The registration functions needed for argv: the named subcommand's only, or all of them (help, typos). */
export async function registrations(argv: readonly string[]): Promise<Register[]> {
  const first = argv.find((a) => !a.startsWith("-"));
  const loaders = first && first !== "help" && COMMANDS[first] ? [COMMANDS[first]] : [...new Set(Object.values(COMMANDS))];
  return Promise.all(loaders.map((l) => l()));
}
