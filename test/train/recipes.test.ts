/** @file The recipes the README trains with are valid open_clip configurations. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "../helpers/shared.js";
import { parseOpenClipConfig } from "../../src/models/clip/config.js";

test("every recipes/*.json parses as an open_clip_config.json", () => {
  const dir = path.join(ROOT, "recipes");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 4, files.join(", "));
  for (const f of files) {
    const { config } = parseOpenClipConfig(fs.readFileSync(path.join(dir, f), "utf8"), f);
    assert.ok(config.embed_dim > 0 && config.text_cfg.vocab_size > 0, f);
  }
});
