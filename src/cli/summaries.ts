/** @file One line per subcommand for `clip --help` (imports nothing, so every command module can use it without a cycle). */

/** One line per subcommand for `clip --help`; each module sets the same text as its command's summary. */
export const SUMMARIES = {
  embed: "embed images and/or texts with a checkpoint; logits_per_image when both are given",
  init: "write a freshly initialized checkpoint of a preset",
  bench: "measure image and text encoding throughput",
  train: "train CLIP from scratch or fine-tune a checkpoint",
  data: "build and inspect datasets (WebDataset shards, CSV, folders, the synthetic world)",
  tokenize: "turn texts into CLIP token ids, or train a vocabulary",
  classify: "zero-shot classify images with class names and prompt templates",
  eval: "evaluate a checkpoint: zero-shot, retrieval, linear probe",
  demo: "the offline main job: train a small CLIP on a procedural world and report what it learned",
  quantize: "write an int8 checkpoint, after measuring its agreement with fp32 on a dataset (--check)",
  pull: "download a pretrained checkpoint from the Hugging Face hub into its shared cache",
  index: "embed folders of images or datasets into a searchable LanceDB index (incremental)",
  search: "search an index by text, image, or like an indexed image",
  dedup: "find near-duplicate images within an index, or the overlap of two indexes",
  serve: "serve a checkpoint over HTTP (embed, classify, search) with a search and zero-shot page",
  web: "write (and serve) a static site that runs CLIP in the browser: zero-shot and search over dropped images",
} as const satisfies Record<string, string>;
