/**
 * @file What `--model` and `ClipModel.load` accept, turned into a local checkpoint directory: a
 * local path (always first), `hf-hub:ORG/NAME` (open_clip's prefix), a bare `ORG/NAME`
 * (transformers' form), or an open_clip model name with a pretrained tag. Node only.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../errors.js";
import { HF_CONFIG, OPEN_CLIP_CONFIG } from "../layout.js";
import { checkRepoId } from "./cache.js";
import { isPretrainedModelName, pretrainedRepo, pretrainedTags } from "./names.js";
import { type PullOptions, type Snapshot, pullRepo } from "./pull.js";

/** open_clip's prefix for hub ids. */
export const HF_HUB_PREFIX = "hf-hub:";

/** The repository whose vocab.json + merges.txt are OpenAI's BPE (open_clip's bundled tokenizer), for checkpoints that ship none. */
export const OPENAI_TOKENIZER_REPO = "openai/clip-vit-base-patch32";

/** Options of resolveModel: those of pullRepo, and an open_clip pretrained tag. */
export interface ResolveOptions extends Omit<PullOptions, "layout"> {
  /** An open_clip pretrained tag for a model name: ("ViT-B-32", { pretrained: "openai" }). */
  pretrained?: string;
}

/** Where a model reference points. */
export type ModelRef = { kind: "local"; path: string } | { kind: "hub"; repo: string; layout: "auto" | "open_clip" };

/** Classifies a reference without touching the network. */
export function parseModelRef(ref: string, opts: { pretrained?: string } = {}): ModelRef {
  if (ref.trim() === "") throw new UserError("--model is empty: give a checkpoint directory, hf-hub:ORG/NAME, or an open_clip name with --pretrained");
  if (fs.existsSync(ref)) {
    if (opts.pretrained) throw new UserError(`--pretrained ${opts.pretrained} is for open_clip model names, but ${ref} is a local path`);
    return { kind: "local", path: ref };
  }
  if (ref.startsWith(HF_HUB_PREFIX)) {
    if (opts.pretrained) throw new UserError(`--pretrained is for open_clip model names, not for ${ref}`);
    return { kind: "hub", repo: checkRepoId(ref.slice(HF_HUB_PREFIX.length)), layout: "auto" };
  }
  if (opts.pretrained) return { kind: "hub", repo: pretrainedRepo(ref, opts.pretrained).repo, layout: "open_clip" };
  if (isPretrainedModelName(ref)) {
    throw new UserError(`${ref} is an open_clip architecture: add --pretrained TAG (one of ${pretrainedTags(ref).join(", ")}), or give a checkpoint directory`);
  }
  if (/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(ref) && !ref.startsWith(".")) return { kind: "hub", repo: checkRepoId(ref), layout: "auto" };
  if (/^[/.~]/.test(ref) || ref.split("/").length > 2) throw new UserError(`--model ${ref}: no such directory`);
  throw new UserError(`--model ${ref}: no such directory, and not a hub id (hf-hub:ORG/NAME) or an open_clip name (with --pretrained)`);
}

/** Pulls (or finds in the cache) the snapshot a hub reference names. */
export async function resolveSnapshot(ref: string, opts: ResolveOptions = {}): Promise<Snapshot | { path: string }> {
  const r = parseModelRef(ref, opts);
  if (r.kind === "local") return { path: r.path };
  return pullRepo(r.repo, { ...opts, layout: r.layout });
}

/**
 * Turns a model reference into a local checkpoint directory: a local path as is; a hub id or an
 * open_clip name + tag into its snapshot in the huggingface_hub cache, downloading what is missing.
 */
export async function resolveModel(ref: string, opts: ResolveOptions = {}): Promise<string> {
  return (await resolveSnapshot(ref, opts)).path;
}

/** text_cfg.hf_tokenizer_name of a checkpoint directory's open_clip_config.json, if any. */
function hfTokenizerName(dir: string): string | undefined {
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, OPEN_CLIP_CONFIG), "utf8")) as { model_cfg?: { text_cfg?: { hf_tokenizer_name?: unknown } } };
    const name = cfg.model_cfg?.text_cfg?.hf_tokenizer_name;
    return typeof name === "string" && name !== "" ? name : undefined;
  } catch {
    return undefined;
  }
}

const hasVocabulary = (dir: string): boolean =>
  ["bpe_simple_vocab_16e6.txt.gz", "vocab.json", "tokenizer.json"].some((f) => fs.existsSync(path.join(dir, f)));

/**
 * The directory holding a checkpoint's tokenizer, as open_clip finds it: the checkpoint's own
 * files; else `text_cfg.hf_tokenizer_name` (a directory, or a hub repo whose tokenizer files are
 * pulled); else, for a checkpoint from the hub with CLIP's 49408-token vocabulary (OpenAI's weights
 * ship none: open_clip uses its bundled BPE), OpenAI's tokenizer repository. Undefined when none applies.
 */
export async function resolveTokenizerDir(checkpointDir: string, opts: Omit<ResolveOptions, "pretrained"> & { fromHub: boolean; vocabSize: number }): Promise<string | undefined> {
  if (hasVocabulary(checkpointDir)) return checkpointDir;
  const name = hfTokenizerName(checkpointDir);
  if (name) {
    const local = path.resolve(checkpointDir, name);
    if (fs.existsSync(local) && hasVocabulary(local)) return local;
    if (/^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(name)) return (await pullRepo(name, { ...opts, layout: "tokenizer" })).path;
    return undefined;
  }
  if (opts.fromHub && opts.vocabSize === 49408) return (await pullRepo(OPENAI_TOKENIZER_REPO, { ...opts, layout: "tokenizer" })).path;
  return undefined;
}

/** text_cfg.vocab_size from a checkpoint directory's config (open_clip or transformers); CLIP's 49408 when there is none. */
export function configVocabSize(dir: string): number {
  const read = (f: string): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const oc = read(OPEN_CLIP_CONFIG) as { model_cfg?: { text_cfg?: { vocab_size?: unknown } } } | undefined;
  const hf = read(HF_CONFIG) as { text_config?: { vocab_size?: unknown } } | undefined;
  const v = oc?.model_cfg?.text_cfg?.vocab_size ?? hf?.text_config?.vocab_size;
  return typeof v === "number" && Number.isInteger(v) ? v : 49408;
}
