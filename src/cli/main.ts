/** @file The `clip` command line: one subcommand module per job, registered here. */
import { Command, CommanderError } from "commander";
import { UserError } from "../errors.js";
import { registrations } from "./commands.js";

/** Runs the CLI with argv (without node and script); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  program
    .name("clip")
    .description("CLIP in TypeScript: embed, classify, train and evaluate CLIP models")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  for (const register of await registrations(argv)) register(program);
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    return reportError(e);
  }
}

/** One clear line on stderr for user mistakes; a stack trace only for our own bugs. */
export function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    // commander already printed its message (help output exits with code 0)
    return e.exitCode;
  }
  if (e instanceof UserError) {
    process.stderr.write(`clip: error: ${e.message}\n`);
    return 2;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === "object" && typeof err.code === "string" && err.code.startsWith("E") && err.path) {
    process.stderr.write(`clip: error: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`clip: internal error (please report): ${err?.stack ?? String(e)}\n`);
  return 1;
}
