/** @file The data layer's public types: samples, dataset options, positions and statistics. */
import type { SkipExample } from "./skips.js";

/** One training or evaluation example: image bytes (undecoded) and captions and/or a class label. */
export interface Sample {
  /** The sample's key: the shared file-name stem inside a shard, a relative path, or a row number. */
  key: string;
  /** Where it came from: the shard path or URL, the CSV file, or the folder. */
  shard: string;
  /** Encoded image bytes (JPEG, PNG, WebP, ...), never decoded by the reader. */
  image?: Uint8Array;
  /** The image's extension, lower case without the dot ("jpg", "png", ...). */
  imageExt?: string;
  /** Zero or more captions (already trimmed; empty and over-long captions are removed and counted). */
  captions: string[];
  /**
   * Hard-negative captions aligned with `captions`: negatives[j] holds captions[j]'s words for each of
   * the image's twins, scenes that differ in one attribute (synth's negatives=K gives K), for
   * `--hard-negatives`.
   */
  negatives?: string[][];
  /** Class index (0-based) for classification layouts. */
  label?: number;
  /** Extra metadata written into the .json by `writeShards` (synth scenes describe their objects here). */
  meta?: Record<string, unknown>;
}

/** What to do with a sample that cannot be used (missing caption, truncated shard, ...). */
export type OnBadSample = "skip" | "error";

/** Options of `openDataset`: shuffling, seed, epochs, worker split, the position to resume from, which fields a sample needs. */
export interface DatasetOptions {
  /** Shuffle shards (or items) each epoch and pass samples through a shuffle buffer. Default false. */
  shuffle?: boolean;
  /** Seed of every random choice (shard order, shuffle buffer, resampling). Default 0. */
  seed?: number;
  /** Samples held by the shuffle buffer (tar shards only). Default 1000. */
  shuffleBuffer?: number;
  /** Passes over the data (exact mode: every sample once per epoch). Default 1; Infinity for endless. */
  epochs?: number;
  /** Draw shards (or items) with replacement forever instead of exact epochs. Default false. */
  resampled?: boolean;
  /** This process's share of the data: shards (or samples) with index % count === index. */
  worker?: { index: number; count: number };
  /** Resume exactly where a previous `position()` was taken. */
  position?: DataPosition;
  /** Skip samples without an image. Default true. */
  requireImage?: boolean;
  /** Skip samples without any usable caption. Default false. */
  requireCaption?: boolean;
  /** Skip samples without a class label. Default false. */
  requireLabel?: boolean;
  /** Class labels must lie in [0, numClasses); others are skipped as bad_label. Default: the dataset's class names, if any. */
  numClasses?: number;
  /** Captions longer than this many characters are cut to it and counted (droppedCaptions.truncated). Default 2000. */
  maxCaptionChars?: number;
  /** "skip" (default): count bad samples and go on; "error": throw a UserError naming shard and key. */
  onBad?: OnBadSample;
}

/** Where a stream stands, saved with a checkpoint and passed back as `options.position`. JSON-serializable. */
export type DataPosition = ShardPosition | IndexedPosition;

/** A reference to one sample inside a tar shard: shard index, byte range, group index in the shard. */
export type SampleRef = [shard: number, start: number, end: number, group: number];

export interface PositionCommon {
  /** Identifies the dataset and options the position belongs to (spec, seed, worker, mode). */
  fingerprint: string;
  /** Epochs started before the current one (resampled mode: always 0). */
  epoch: number;
  /** Statistics so far, carried across resumes. */
  stats: DataStats;
}

export interface ShardPosition extends PositionCommon {
  kind: "shards";
  /** Index into this epoch's shard order (resampled: shards drawn so far). */
  shardCursor: number;
  /** The open shard: its index, the byte offset after the last group read, and groups read. Null between shards. */
  open: { shard: number; offset: number; group: number } | null;
  /** The shuffle buffer's RNG state (shard order and resampling draws are stateless hashes of the seed). */
  rng: number[];
  /** Samples held by the shuffle buffer, in buffer order. */
  buffer: SampleRef[];
}

export interface IndexedPosition extends PositionCommon {
  kind: "indexed";
  /** Position in this epoch's order (resampled: items drawn so far). */
  next: number;
}

export interface DataStats {
  /** Samples delivered (minus those later reported bad with `reportBad`). */
  samples: number;
  /** Skipped samples by reason: missing_caption, empty_caption, truncated_shard, undecodable_image, ... */
  skipped: Record<string, number>;
  /** Captions changed in samples that were kept: "empty" ones removed, over-long ones "truncated". */
  droppedCaptions?: Record<string, number>;
  /** The first few skip messages, each naming the shard and key. */
  messages?: string[];
  /** The same first few skips with their reason, source and key (the SkipLog examples). */
  examples?: SkipExample[];
}

/** A stream of samples. Iterating twice continues from the current position; `position()` is exact. */
export interface Dataset extends AsyncIterable<Sample> {
  /** What the spec resolved to: "webdataset", "csv", "folder", "imagefolder", "synth". */
  readonly layout: string;
  /** Class names in label order, when the layout has them (classnames.txt, ImageFolder, synth). */
  readonly classnames?: string[];
  /** Zero-shot prompt templates when the layout ships them (zeroshot_classification_templates.txt). */
  readonly templates?: string[];
  /**
   * Zero-shot prompts of each class's own (prompts[c] for classnames[c]) when the layout has
   * phrasings a template cannot give (the synthetic world's plurals); these win over `templates`.
   */
  readonly classPrompts?: string[][];
  /** Where the stream stands now; resuming with it yields exactly the samples not yet consumed. */
  position(): DataPosition;
  stats(): DataStats;
  /** Samples per epoch for this worker, when cheaply known (sizes.json, CSV rows, files); else undefined. */
  count(): number | undefined;
  /** Counts a delivered sample as skipped after all (e.g. its image failed to decode). */
  reportBad(sample: Sample, reason: string, detail?: string): void;
  /** Loads remote metadata (http classnames.txt, sizes.json); iteration calls it itself. */
  ready(): Promise<void>;
}
