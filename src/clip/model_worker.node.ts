/**
 * @file Worker thread of ThreadedClipModel: owns a ClipModel (its ONNX Runtime sessions) and runs
 * token ids and preprocessed pixels through it, so that the blocking `session.run` never stalls
 * the thread that loaded it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { UserError } from "../errors.js";
import type { ClipConfig, PreprocessCfg } from "../models/clip/config.js";
import type { Vocabulary } from "../tokenizer/bpe.js";
import { ClipModel, type HubOptions, type ModelOptions } from "./model.js";

/** What the worker is started with: `ClipModel.load`'s arguments, callbacks left out. */
export interface WorkerInit {
  ref: string;
  opts: Omit<ModelOptions, "onWarning"> & Omit<HubOptions, "onDownload">;
}

/** A tower run: token ids [n, contextLength] or pixels [n, 3, S, S]. */
export type WorkerRun = { op: "tokens"; ids: BigInt64Array; n: number } | { op: "pixels"; pixels: Float32Array; n: number };

/** A run as sent: with the id its answer carries. */
export type WorkerRequest = WorkerRun & { id: number };

/** The loaded model's description, sent once after load. */
export interface WorkerReady {
  type: "ready";
  config: ClipConfig;
  preprocess: PreprocessCfg;
  source: string;
  weightsFile?: string;
  logitScale: number;
  /** The tokenizer's vocabulary (its compiled merges left out: they hold a function), or why there is none. */
  vocabulary: Omit<Vocabulary, "compiled"> | { error: string };
}

/** An error crossing the thread boundary: `user` when it was a UserError. */
export interface WorkerFailure {
  message: string;
  user: boolean;
}

/** Every message the worker posts. */
export type WorkerMessage =
  | WorkerReady
  | { type: "loadError"; error: WorkerFailure }
  | { type: "warning"; message: string }
  | { type: "result"; id: number; data: Float32Array }
  | { type: "runError"; id: number; error: WorkerFailure };

const failure = (e: unknown): WorkerFailure => ({ message: e instanceof Error ? e.message : String(e), user: e instanceof UserError });

const port = parentPort!;
const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const init = workerData as WorkerInit;

const model = await ClipModel.load(init.ref, { ...init.opts, onWarning: (message) => post({ type: "warning", message }) }).catch((e: unknown) => {
  // the caller terminates this thread once it has read why
  post({ type: "loadError", error: failure(e) });
  return new Promise<never>(() => port.on("message", () => undefined));
});

let vocabulary: WorkerReady["vocabulary"];
try {
  const { tokens, merges, sot, eot } = model.tokenizer.vocabulary;
  vocabulary = { tokens, merges, sot, eot };
} catch (e) {
  vocabulary = { error: (e as Error).message };
}
post({ type: "ready", config: model.config, preprocess: model.preprocess, source: model.source, weightsFile: model.weightsFile, logitScale: model.logitScale, vocabulary });

// runs are awaited in turn: a session runs one batch at a time, and messages queue meanwhile
let chain = Promise.resolve();
port.on("message", (req: WorkerRequest | { op: "close" }) => {
  if (req.op === "close") {
    chain = chain.then(() => model.close()).then(() => port.close());
    return;
  }
  chain = chain.then(async () => {
    try {
      const e = req.op === "tokens" ? await model.encodeTokens(req.ids, req.n, { normalize: false }) : await model.encodePixels(req.pixels, req.n, { normalize: false });
      post({ type: "result", id: req.id, data: e.data }, [e.data.buffer as ArrayBuffer]);
    } catch (e) {
      post({ type: "runError", id: req.id, error: failure(e) });
    }
  });
});
