/** @file SkipLog: counts by reason, bounded named examples, merging, the JSON form, the stderr report, --strict. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { UserError } from "../../src/errors.js";
import { MAX_SKIP_EXAMPLES, SkipLog, formatSkipCounts, skipReport } from "../../src/data/index.js";

const ex = (i: number, reason = "undecodable_image") => ({ reason, source: "a.tar", key: `k${i}`, message: `a.tar: k${i}: ${reason}` });

test("SkipLog counts by reason and keeps the first examples, bounded", () => {
  const log = new SkipLog();
  for (let i = 0; i < 30; i++) log.add(ex(i, i % 3 ? "undecodable_image" : "missing_caption"));
  const j = log.toJSON();
  assert.equal(j.count, 30);
  assert.deepEqual(j.by_reason, { missing_caption: 10, undecodable_image: 20 });
  assert.equal(j.examples.length, MAX_SKIP_EXAMPLES);
  assert.deepEqual(j.examples[0], ex(0, "missing_caption"));
  assert.deepEqual(JSON.parse(JSON.stringify(log)), j, "JSON.stringify gives the documented form");
  assert.equal(formatSkipCounts(j), "30 (missing_caption 10, undecodable_image 20)");
  const lines = skipReport(j, "a.tar");
  assert.equal(lines[0], "a.tar: skipped 30 (missing_caption 10, undecodable_image 20)");
  assert.equal(lines.length, 1 + MAX_SKIP_EXAMPLES + 1);
  assert.equal(lines.at(-1), "  ... and 10 more");
  assert.deepEqual(skipReport(new SkipLog().toJSON(), "x"), []);
});

test("SkipLog merges logs and summaries; the error policy throws the first skip's message", () => {
  const a = new SkipLog();
  a.add(ex(1));
  const b = new SkipLog();
  b.add(ex(2, "truncated_shard"));
  a.merge(b);
  a.merge(b.toJSON());
  assert.deepEqual(a.toJSON().by_reason, { undecodable_image: 1, truncated_shard: 2 });
  assert.equal(a.count, 3);
  assert.equal(SkipLog.from(a.toJSON()).count, 3);
  const strict = new SkipLog("error");
  assert.throws(() => strict.add(ex(7)), (e: unknown) => e instanceof UserError && e.message === "a.tar: k7: undecodable_image");
  assert.equal(strict.count, 0);
});
