/** @file Validation during `clip train`: evaluates each saved checkpoint on --val-data. */
import { ClipModel } from "../clip/model.js";
import type { RunHooks } from "../train/run.js";
import { validate } from "../train/validate.js";

/** The evaluate hook of a run: loads the checkpoint just saved and validates it. */
export function evaluator(valData: string | undefined, threads?: number): RunHooks["evaluate"] {
  if (!valData) return undefined;
  return async (ckptDir) => {
    const model = await ClipModel.load(ckptDir, { threads, truncate: "silent" });
    try {
      return await validate(model, valData);
    } finally {
      await model.close();
    }
  };
}
