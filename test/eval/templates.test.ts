import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import {
  fillTemplate,
  getTemplates,
  loadTemplatesFile,
  parseTemplates,
  resolveTemplates,
  TEMPLATE_SETS,
  templateSetNames,
  templatesForClassnames,
  validateTemplates,
} from "../../src/eval/templates.js";

test("built-in template lists: sizes, placeholders, no duplicates", () => {
  assert.equal(TEMPLATE_SETS.imagenet!.length, 80);
  assert.equal(TEMPLATE_SETS.imagenet![0], "a bad photo of a {}.");
  assert.equal(TEMPLATE_SETS.imagenet![79], "a tattoo of the {}.");
  assert.equal(TEMPLATE_SETS.imagenet7!.length, 7);
  assert.equal(TEMPLATE_SETS.cifar10!.length, 18);
  assert.deepEqual(TEMPLATE_SETS.cifar100, TEMPLATE_SETS.cifar10);
  assert.deepEqual(TEMPLATE_SETS.simple, ["a photo of a {}."]);
  assert.equal(TEMPLATE_SETS.eurosat!.length, 3);
  assert.equal(TEMPLATE_SETS.resisc45!.length, 18);
  assert.equal(TEMPLATE_SETS.satellite!.length, 21);
  assert.equal(TEMPLATE_SETS.generic!.length, 34);
  for (const name of templateSetNames()) validateTemplates(TEMPLATE_SETS[name]!, name);
  for (const t of TEMPLATE_SETS.imagenet7!) assert.ok(TEMPLATE_SETS.imagenet!.includes(t), t);
});

test("getTemplates returns a copy; unknown names list the valid ones", () => {
  const a = getTemplates("simple");
  a.push("x {}");
  assert.equal(TEMPLATE_SETS.simple!.length, 1);
  assert.throws(() => getTemplates("imagenett"), (e: Error) => e instanceof UserError && /unknown template set "imagenett" \(built-in: .*imagenet.*\)/.test(e.message));
  assert.throws(() => getTemplates("toString"), UserError);
});

test("fillTemplate replaces the placeholder", () => {
  assert.equal(fillTemplate("a photo of a {}.", "cat"), "a photo of a cat.");
  assert.equal(fillTemplate('a "{}" sign, {}', "stop"), 'a "stop" sign, stop');
});

test("template files: one per line, comments and blank lines skipped, errors carry file and line", () => {
  assert.deepEqual(parseTemplates("# mine\na photo of a {}.\r\n\n  itap of a {}.  \n", "t.txt"), ["a photo of a {}.", "itap of a {}."]);
  assert.throws(
    () => parseTemplates("a photo of a {}.\n\na photo of a cat.\n", "my/t.txt"),
    (e: Error) => e instanceof UserError && e.message === 'my/t.txt:3: template "a photo of a cat." has no "{}" placeholder for the class name',
  );
  assert.throws(() => parseTemplates("a {}\nb {}\na {}\n", "t.txt"), /t\.txt:3: template "a \{\}" repeats line 1/);
  assert.throws(() => parseTemplates("# nothing\n\n", "t.txt"), /t\.txt: no templates/);
  assert.throws(() => validateTemplates(["a {}", "b"], "x"), /x: template 2 "b" has no "\{\}"/);
  assert.throws(() => validateTemplates([]), /no templates/);
});

test("resolveTemplates: built-in names, files, and clear errors for neither", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "clip-tpl-"));
  try {
    assert.equal((await resolveTemplates(undefined)).length, 1);
    assert.equal((await resolveTemplates("imagenet")).length, 80);
    const f = path.join(dir, "mine.txt");
    await writeFile(f, "a {} in the wild\n");
    assert.deepEqual(await resolveTemplates(f), ["a {} in the wild"]);
    assert.deepEqual(await loadTemplatesFile(f), ["a {} in the wild"]);
    await assert.rejects(resolveTemplates("cifar"), /unknown template set "cifar"/);
    await assert.rejects(resolveTemplates(path.join(dir, "missing.txt")), /cannot read templates file .*missing\.txt: ENOENT/);
    const bad = path.join(dir, "bad.txt");
    await writeFile(bad, "ok {}\nnot ok\n");
    await assert.rejects(resolveTemplates(bad), (e: Error) => e instanceof UserError && e.message === `${bad}:2: template "not ok" has no "{}" placeholder for the class name`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("templatesForClassnames recognises CIFAR-10 by its class names, in any order or case, and nothing else", () => {
  const cifar = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
  assert.equal(templatesForClassnames(cifar), "cifar10");
  assert.equal(templatesForClassnames([...cifar].reverse().map((c) => c.toUpperCase())), "cifar10");
  assert.equal(templatesForClassnames(cifar.slice(1)), undefined);
  assert.equal(templatesForClassnames([...cifar.slice(1), "plane"]), undefined);
  assert.equal(templatesForClassnames(["cat", "dog"]), undefined);
});
