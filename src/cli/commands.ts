/** @file The registry of CLI subcommands: each module exports `register(program)`. */
import type { Command } from "commander";
import { register as registerData } from "./data.js";
import { register as registerModel } from "./model.js";
import { register as registerTokenize } from "./tokenize.js";

export const COMMANDS: ((program: Command) => void)[] = [registerModel, registerData, registerTokenize];
