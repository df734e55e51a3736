/** @file `openDataset(spec)`: one entry point from a SPEC string to a resumable stream of samples. */
import { csvSource } from "./csv.js";
import { folderSource, imageFolderSource } from "./folders.js";
import { IndexedDataset, type ItemSource } from "./indexed.js";
import { normalizeOptions } from "./options.js";
import { resolveSpec, type SynthSpec } from "./spec.js";
import { synthClassnames, synthClassPrompts, synthSample, synthTemplates } from "./synth/world.js";
import type { Dataset, DatasetOptions } from "./types.js";
import { ShardDataset } from "./webdataset.js";

/**
 * Opens a dataset described by a SPEC (see DATA_SPEC_HELP): WebDataset shards (local, http(s),
 * .tar.gz), csv:/tsv:, folder:, imagefolder:, synth:. Throws a UserError when the spec points at
 * nothing or at the wrong thing.
 */
export function openDataset(spec: string, options: DatasetOptions = {}): Dataset {
  const o = normalizeOptions(options);
  const r = resolveSpec(spec);
  let ds: ShardDataset | IndexedDataset;
  switch (r.layout) {
    case "webdataset":
      ds = new ShardDataset(r, o);
      break;
    case "csv":
      ds = new IndexedDataset(csvSource(r, o), o);
      break;
    case "folder":
      ds = new IndexedDataset(folderSource(r.dir, o), o);
      break;
    case "imagefolder":
      ds = new IndexedDataset(imageFolderSource(r.dir, o), o);
      break;
    case "synth":
      ds = new IndexedDataset(synthSource(r), o);
      break;
  }
  if (options.position) ds.restore(options.position);
  return ds;
}

function synthSource(r: SynthSpec): ItemSource {
  const opts = { n: r.n, seed: r.seed, size: r.size, split: r.split, task: r.task, group: r.group, captions: r.captions, mono: r.mono, negatives: r.negatives };
  const src: ItemSource = {
    layout: "synth",
    names: [`synth-${r.seed}-${r.size}-${r.split}-${r.task}-${r.n}${r.group > 1 ? `-g${r.group}` : ""}${r.captions === "partial" ? "-partial" : ""}${r.mono > 0 ? `-mono${r.mono}` : ""}${r.negatives > 0 ? `-neg${r.negatives > 1 ? r.negatives : ""}` : ""}`], // "-neg" for 1, as runs saved before counts name it
    size: r.n,
    load: async (i) => ({ ok: true, sample: synthSample(i, opts), dropped: {} }),
    prefetch: 1,
  };
  if (r.task !== "none") {
    src.classnames = synthClassnames(r.task);
    src.templates = synthTemplates(r.task);
    src.classPrompts = synthClassPrompts(r.task);
  }
  return src;
}
