/** @file The data layer's public API: datasets from SPEC strings, shard writing, the synthetic world. */
export type { Sample, Dataset, DatasetOptions, DataPosition, DataStats, OnBadSample, SampleRef } from "./types.js";
export { openDataset } from "./dataset.js";
export { DATA_SPEC_HELP, resolveSpec, type ResolvedSpec } from "./spec.js";
export { writeShards, type WriteShardsOptions, type WriteShardsResult } from "./writer.js";
export { batches, keepDecoded, decodeOrSkip } from "./batch.js";
export { formatStats, totalSkipped, skipSummary } from "./stats.js";
export { SkipLog, MAX_SKIP_EXAMPLES, noSkips, formatSkipCounts, skipReport, type SkipExample, type SkipSummary, type SkipPolicy } from "./skips.js";
export { expandBraces } from "./braces.js";
export {
  synthWorld,
  synthSample,
  synthScene,
  synthClassnames,
  synthTemplates,
  synthClassPrompts,
  HELDOUT_PAIRS,
  isHeldout,
  SHAPES,
  COLORS,
  COUNT_WORDS,
  type SynthOptions,
  type SynthSplit,
  type SynthTask,
  type Scene,
} from "./synth/world.js";
export { writeSynthShards, type SynthShardOptions } from "./synth/parallel.js";
export { encodePng } from "./synth/png.js";
