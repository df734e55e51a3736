/** @file The registry of CLI subcommands: each module exports `register(program)`. */
import type { Command } from "commander";

export const COMMANDS: ((program: Command) => void)[] = [];
