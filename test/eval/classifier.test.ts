import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { ZeroShotClassifier } from "../../src/eval/classifier.js";
import { UserError } from "../../src/errors.js";
import { REFERENCE } from "../helpers/shared.js";

test("ZeroShotClassifier.create with each class's own prompts: the template route's weights when the prompts are the filled templates; an uneven list ensembles per class", async () => {
  const model = await ClipModel.load(path.join(REFERENCE, "vit-tiny"));
  try {
    const names = ["cat", "dog", "car"];
    const templates = ["a photo of a {}.", "a drawing of a {}."];
    const viaTemplates = await ZeroShotClassifier.create(model, names, { templates });
    const viaPrompts = await ZeroShotClassifier.create(model, names, { prompts: names.map((n) => templates.map((t) => t.replace("{}", n))) });
    assert.deepEqual(Array.from(viaPrompts.classWeights.data), Array.from(viaTemplates.classWeights.data));
    assert.deepEqual(viaPrompts.templates, []);
    assert.deepEqual(viaPrompts.prompts[1], ["a photo of a dog.", "a drawing of a dog."]);
    // one prompt for a class: its row is that prompt's normalized embedding
    const uneven = await ZeroShotClassifier.create(model, names, { prompts: [["a photo of a cat.", "two cats"], ["a dog"], ["a red car", "cars"]] });
    const dog = await model.embedTexts(["a dog"]);
    const d = dog.dims[1];
    for (let j = 0; j < d; j++) assert.ok(Math.abs(uneven.classWeights.data[d + j]! - dog.data[j]!) < 1e-6);
    await assert.rejects(ZeroShotClassifier.create(model, names, { templates, prompts: [["a"], ["b"], ["c"]] }), (e: Error) => e instanceof UserError && /templates or prompts, not both/.test(e.message));
  } finally {
    await model.dispose();
  }
});
