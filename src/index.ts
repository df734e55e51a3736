/**
 * @file The library's public API (`import { ... } from "clip-ts"`). Everything the CLI does is
 * reachable from here; the CLI is a thin user of it. The graph engine (IR, autodiff, ONNX
 * emission, runtime) has its own entry point, `clip-ts/graph`.
 *
 * ```ts
 * import { ClipModel, ZeroShotClassifier } from "clip-ts";
 * const model = await ClipModel.load("path/to/checkpoint");
 * const texts = await model.embedTexts(["a diagram", "a dog", "a cat"]);
 * const images = await model.embedImages(["photo.jpg"]);
 * const logits = model.logits(images, texts); // [1, 3]: logitScale * cosine
 * const classifier = await ZeroShotClassifier.create(model, ["dog", "cat"]);
 * console.log(await classifier.classify(["photo.jpg"]));
 * await model.dispose();
 * ```
 */

// The model: load a checkpoint, embed images and texts.
export { ClipModel, imageConfig, type EmbedOptions, type ImageInput, type Matrix, type ModelOptions } from "./clip/model.js";
export type { Embedder, Embeddings, EncodeOptions } from "./clip/embedder.js";

// Zero-shot classification with prompt ensembling.
export { ZeroShotClassifier, type LabelScore, type ZeroShotClassifierOptions } from "./eval/classifier.js";
export { TEMPLATE_SETS, fillTemplate, getTemplates, templateSetNames, templatesForClassnames } from "./eval/templates.js";
export { buildZeroShotClassifier, classify, evaluateZeroShot, softmaxRows, type ClassifyResult, type ZeroShotWeights } from "./eval/zeroshot.js";

// Evaluation: retrieval recall, linear probes, classification metrics, dataset embedding.
export { DEFAULT_KS, retrievalRecall, textToImageFromCounts, type RecallAtK, type RetrievalOptions, type RetrievalResult } from "./eval/retrieval.js";
export {
  fewShotIndices,
  fitLogisticRegression,
  linearProbe,
  predict,
  type FitOptions,
  type FitResult,
  type LinearProbeOptions,
  type LinearProbeResult,
  type LogRegModel,
  type ProbeData,
} from "./eval/linear_probe.js";
export { classificationMetrics, type ClassificationMetrics } from "./eval/metrics.js";
export { embedCaptions, embedImages as embedDatasetImages, type EmbeddedImages, type EvalSample } from "./eval/embed_dataset.js";

// The tokenizer: clip.tokenize exactly, and vocabulary training.
export {
  CLIP_CONTEXT_LENGTH,
  ClipTokenizer,
  TRUNCATE_POLICIES,
  trainBpe,
  writeBpeVocab,
  type TokenizeOptions,
  type TrainedBpe,
  type TruncatePolicy,
} from "./tokenizer/index.js";

// Image decoding and preprocessing, identical to PIL + torchvision.
export {
  DEFAULT_MAX_PIXELS,
  ImagePool,
  OPENAI_MEAN,
  OPENAI_STD,
  decodeImage,
  decodeImageSync,
  preprocessImage,
  probeImage,
  preprocessRGB,
  randomResizedCrop,
  type ImageProbe,
  type PreprocessConfig,
  type RGBImage,
} from "./image/index.node.js";

// Data: SPECs (WebDataset shards, csv:, folder:, imagefolder:, synth:) and shard writing.
export { DATA_SPEC_HELP, openDataset, resolveSpec, writeShards, type Dataset, type DatasetOptions, type Sample } from "./data/index.js";
export { SkipLog, type SkipExample, type SkipSummary } from "./data/skips.js";

// Training: contrastive pre-training and fine-tuning (CLIP or SigLIP loss).
export { DEFAULT_ARGS, resumeTraining, train, type RunResult, type StepResult, type TrainArgs, type TrainCallbacks, type TrainOptions } from "./train/index.js";

// Checkpoints: open_clip, Hugging Face and PyTorch layouts; presets and initialization.
export { loadCheckpoint, saveCheckpoint, saveHfCheckpoint, type LoadedCheckpoint, type SaveOptions } from "./weights/checkpoint.js";
export { readSafetensorsFile, writeSafetensorsFile } from "./weights/files.js";
export { PRESET_NAMES, presetConfig } from "./models/clip/presets.js";
export { initState } from "./models/clip/init.js";
export { defaultPreprocess, openClipConfigJson, parseOpenClipConfig, type ClipConfig, type PreprocessCfg, type StateDict } from "./models/clip/config.js";

// Vector math and errors.
export { dot, normalizeRows } from "./util/vector.js";
export { Rng } from "./util/rng.js";
export { InternalError, UserError } from "./errors.js";
