/** @file Validation during `clip train`: evaluates a saved checkpoint on --val-data. */
import type { RunHooks } from "../train/run.js";

/** The evaluate hook for a run: zero-shot for labeled data, retrieval for captioned data. */
export function evaluator(_runDir: string, _threads?: number): RunHooks["evaluate"] {
  return undefined;
}
