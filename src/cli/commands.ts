/** @file The registry of CLI subcommands: each module exports `register(program)`. */
import type { Command } from "commander";
import { register as registerClassify } from "./classify.js";
import { register as registerData } from "./data.js";
import { register as registerDemo } from "./demo.js";
import { register as registerEval } from "./eval.js";
import { register as registerModel } from "./model.js";
import { register as registerTrain } from "./train.js";
import { register as registerTokenize } from "./tokenize.js";

export const COMMANDS: ((program: Command) => void)[] = [registerModel, registerTrain, registerData, registerTokenize, registerClassify, registerEval, registerDemo];
