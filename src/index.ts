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
export { ClipModel, imageConfig, type EmbedOptions, type HubOptions, type ImageInput, type Matrix, type ModelOptions } from "./clip/model.js";
export type { Embedder, Embeddings, EncodeOptions } from "./clip/embedder.js";
export { ThreadedClipModel, type ThreadedModelOptions } from "./clip/threaded.node.js";

// Zero-shot classification with prompt ensembling.
export { ZeroShotClassifier, type LabelScore, type ZeroShotClassifierOptions } from "./eval/classifier.js";
export { TEMPLATE_SETS, fillTemplate, getTemplates, templateSetNames, templatesForClassnames } from "./eval/templates.js";
export { buildZeroShotClassifier, buildZeroShotClassifierFromPrompts, classify, evaluateZeroShot, softmaxRows, type ClassifyResult, type ZeroShotWeights } from "./eval/zeroshot.js";

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

// Pretrained weights: the Hugging Face hub and its cache (shared with Python's huggingface_hub), open_clip's names.
export { cachedSnapshot, pullRepo, type PullOptions, type PullProgress, type Snapshot } from "./weights/hub/pull.js";
export { HF_HUB_PREFIX, parseModelRef, resolveModel, type ModelRef, type ResolveOptions } from "./weights/hub/resolve.js";
export { PRETRAINED, listPretrained, pretrainedRepo, type PretrainedEntry } from "./weights/hub/names.js";
export { hubCacheDir } from "./weights/hub/cache.js";

// Checkpoints: open_clip, Hugging Face and PyTorch layouts; presets and initialization.
export { loadCheckpoint, saveCheckpoint, saveHfCheckpoint, type LoadedCheckpoint, type SaveOptions } from "./weights/checkpoint.js";
export { readSafetensorsFile, writeSafetensorsFile } from "./weights/files.js";
export { PRESET_NAMES, presetConfig } from "./models/clip/presets.js";
export { initState } from "./models/clip/init.js";
export { defaultPreprocess, openClipConfigJson, parseOpenClipConfig, type ClipConfig, type PreprocessCfg, type StateDict } from "./models/clip/config.js";

// int8: which weights int8 inference quantizes, the quantizer, and the agreement check of `clip quantize`.
export { PRECISIONS, int8Keys, quantizeState, type Int8Tensor, type Precision } from "./models/clip/int8.js";
export { compareInt8, type AgreementReport, type CompareOptions } from "./eval/int8_check.js";

// Vector math and errors.
export { dot, normalizeRows } from "./util/vector.js";
export { Rng } from "./util/rng.js";
export { InternalError, UserError } from "./errors.js";
