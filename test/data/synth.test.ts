/** @file The procedural captioned world: deterministic, held-out splits are correct, classification views, pixels match captions. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import {
  COLORS,
  COUNT_WORDS,
  HELDOUT_PAIRS,
  isHeldout,
  openDataset,
  SHAPES,
  synthClassPrompts,
  synthSample,
  synthScene,
  synthWorld,
  writeShards,
  writeSynthShards,
  type SynthOptions,
} from "../../src/data/index.js";
import { grayscaleRGB } from "../../src/image/transform.js";
import { tmpDir } from "./helpers.js";

test("deterministic per seed: identical PNG bytes and captions; another seed differs", () => {
  const a = [...synthWorld({ n: 40, seed: 5 })];
  const b = [...synthWorld({ n: 40, seed: 5 })];
  const c = [...synthWorld({ n: 40, seed: 6 })];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((s) => s.captions), c.map((s) => s.captions));
  // items are independent: item 17 alone equals item 17 of the stream
  assert.deepEqual(synthSample(17, { n: 40, seed: 5 }), a[17]);
  assert.equal(new Set(a.map((s) => s.key)).size, 40);
});

test("shards rendered on worker threads are byte-identical to one thread's", async () => {
  const opts: SynthOptions = { n: 150, seed: 12, split: "val", task: "color" };
  const one = tmpDir("synth1");
  const two = tmpDir("synth2");
  await writeShards(synthWorld(opts), one, 40, { prefix: "val" });
  const res = await writeSynthShards(opts, two, 40, { threads: 2, minPerThread: 1 });
  assert.equal(res.count, 150);
  for (const name of ["val-000000.tar", "val-000003.tar"]) assert.ok(fs.readFileSync(path.join(one, name)).equals(fs.readFileSync(path.join(two, name))), name);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(two, "sizes.json"), "utf8")), { "val-000000.tar": 40, "val-000001.tar": 40, "val-000002.tar": 40, "val-000003.tar": 30 });
  assert.equal(fs.readFileSync(path.join(two, "classnames.txt"), "utf8"), COLORS.join("\n") + "\n");
});

test("held-out splits: train and val never show a held-out color-shape pair, heldout always does", () => {
  const n = 3000;
  const pairsSeen = new Set<string>();
  for (const split of ["train", "val"] as const) {
    for (let i = 0; i < n; i++) {
      for (const o of synthScene(i, { n, seed: 1, split }).objects) {
        assert.ok(!isHeldout(o.color, o.shape), `${split} ${i}: ${o.color} ${o.shape} is held out`);
        pairsSeen.add(`${o.color} ${o.shape}`);
      }
    }
  }
  // every other pair does occur in training, and every shape and color on its own
  assert.equal(pairsSeen.size, COLORS.length * SHAPES.length - HELDOUT_PAIRS.length);
  const heldSeen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const scene = synthScene(i, { n, seed: 1, split: "heldout" });
    const held = scene.objects.filter((o) => isHeldout(o.color, o.shape));
    assert.ok(held.length > 0, `heldout ${i} shows no held-out pair`);
    for (const o of held) heldSeen.add(`${o.color} ${o.shape}`);
  }
  assert.equal(heldSeen.size, HELDOUT_PAIRS.length);
  // captions never name a held-out pair in training ("purple star" never appears)
  for (let i = 0; i < 500; i++) {
    for (const c of synthScene(i, { n, seed: 2, split: "train" }).captions) {
      for (const [col, shape] of HELDOUT_PAIRS) assert.ok(!new RegExp(`\\b${col} ${shape}`).test(c), c);
    }
  }
  // train and val are different images
  assert.notDeepEqual(synthScene(0, { n, seed: 1, split: "train" }), synthScene(0, { n, seed: 1, split: "val" }));
});

test("captions describe the scene: counts, colors, shapes, relations", () => {
  let relations = 0;
  for (let i = 0; i < 400; i++) {
    const s = synthScene(i, { n: 400, seed: 3, split: "all" });
    assert.ok(s.captions.length >= 3 && new Set(s.captions).size === s.captions.length);
    if (s.kind === "count") {
      const o = s.objects[0]!;
      assert.ok(s.objects.every((x) => x.shape === o.shape && x.color === o.color));
      for (const c of s.captions) {
        assert.ok(c.includes(o.color) && c.includes(o.shape), `"${c}" names ${o.color} ${o.shape}`);
        if (s.objects.length > 1) assert.ok(c.includes(COUNT_WORDS[s.objects.length - 1]!), `"${c}" says ${s.objects.length}`);
      }
    } else if (s.kind === "relation") {
      relations++;
      const [a, b] = s.objects;
      if (s.relation === "left of") assert.ok(a!.x < b!.x);
      if (s.relation === "right of") assert.ok(a!.x > b!.x);
      if (s.relation === "above") assert.ok(a!.y < b!.y);
      if (s.relation === "below") assert.ok(a!.y > b!.y);
    } else {
      assert.ok(s.captions.every((c) => c.includes(`"${s.word}"`)));
    }
  }
  assert.ok(relations > 50);
});

test("pixels: valid PNGs of the requested size, object centres have the object's color", async () => {
  const RGB: Record<string, number[]> = { red: [215, 35, 35], orange: [245, 135, 20], yellow: [240, 215, 25], green: [35, 160, 55], blue: [35, 85, 225], purple: [135, 45, 185], white: [245, 245, 245], black: [18, 18, 18] };
  let checked = 0;
  for (const size of [64, 96]) {
    const opts: SynthOptions = { n: 30, seed: 8, size, task: "shape" };
    for (let i = 0; i < 30; i++) {
      const s = synthSample(i, opts);
      const { data, info } = await sharp(s.image!).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([info.width, info.height, info.channels], [size, size, 3]);
      for (const o of synthScene(i, opts).objects) {
        if (o.shape === "ring" || o.r * size < 4) continue;
        const p = (Math.floor(o.y * size) * size + Math.floor(o.x * size)) * 3;
        const want = RGB[o.color]!;
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(data[p + c]! - want[c]!) <= 16, `${o.color} ${o.shape} centre channel ${c}: ${data[p + c]} vs ${want[c]}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 50);
});

test("classification views: labels index the class names; synth: specs open as datasets", async () => {
  for (const task of ["shape", "color", "count"] as const) {
    const ds = openDataset(`synth:?n=60&seed=2&split=heldout&task=${task}`, { requireLabel: true });
    const names = task === "shape" ? [...SHAPES] : task === "color" ? [...COLORS] : [...COUNT_WORDS];
    assert.deepEqual(ds.classnames, names);
    assert.ok(ds.templates!.every((t) => t.includes("{c}")));
    assert.equal(ds.count(), 60);
    let i = 0;
    for await (const s of ds) {
      const scene = synthScene(i++, { n: 60, seed: 2, split: "heldout", task });
      const o = scene.objects[0]!;
      const truth = task === "shape" ? SHAPES.indexOf(o.shape) : task === "color" ? COLORS.indexOf(o.color) : scene.objects.length - 1;
      assert.equal(s.label, truth);
      assert.ok(isHeldout(o.color, o.shape), "heldout classification images show held-out pairs only");
    }
    assert.equal(i, 60);
  }
});

test("class prompts: colors and counts fill their templates; shapes take the count forms the captions use in every color (\"three red crosses\")", async () => {
  for (const task of ["shape", "color", "count"] as const) {
    const ds = openDataset(`synth:?n=10&seed=2&split=val&task=${task}`);
    const prompts = synthClassPrompts(task);
    assert.deepEqual(ds.classPrompts, prompts);
    ds.classnames!.forEach((c, i) => {
      if (task === "shape") {
        assert.equal(prompts[i]!.length, COLORS.length * COUNT_WORDS.length);
        for (const color of COLORS) assert.equal(prompts[i]!.filter((p) => p.split(" ")[1] === color).length, COUNT_WORDS.length, `${c}: ${color}`);
      } else {
        assert.deepEqual(prompts[i], ds.templates!.map((t) => t.split("{c}").join(c)));
      }
    });
  }
  const shapes = synthClassPrompts("shape");
  assert.ok(shapes[SHAPES.indexOf("cross")]!.includes("three red crosses"));
  assert.ok(shapes[SHAPES.indexOf("star")]!.includes("one purple star"));
  // each prompt is, word for word, a caption a count scene of that many objects of that color and shape can have
  let checked = 0;
  for (let i = 0; i < 300; i++) {
    const sc = synthScene(i, { n: 300, seed: 5, split: "train" });
    if (sc.kind !== "count") continue;
    const o = sc.objects[0]!;
    const k = sc.objects.length;
    const prompt = shapes[SHAPES.indexOf(o.shape)]![COLORS.indexOf(o.color) * COUNT_WORDS.length + k - 1]!;
    const count = k === 1 ? "one" : COUNT_WORDS[k - 1]!;
    assert.equal(prompt.split(" ")[0], count);
    for (const c of sc.captions) {
      const words = c.split(/[ ,]+/);
      // every caption names the shape word of the prompt (plural for several) and the color
      assert.ok(words.includes(prompt.split(" ").at(-1)!) && words.includes(o.color), `scene ${i}: "${c}" vs "${prompt}"`);
    }
    if (sc.captions.some((c) => c.startsWith(`${count} `) && !c.includes("small") && !c.includes("large") && c.split(" ").length === 3)) assert.ok(sc.captions.includes(prompt), `scene ${i}: ${JSON.stringify(sc.captions)} vs "${prompt}"`);
    checked++;
  }
  assert.ok(checked > 100, `${checked} count scenes`);
});

test("group=4: blocks of training scenes that differ only in shape, distinct within a block, never a held-out pair; group=1 and other splits unchanged", async () => {
  const opts: SynthOptions = { n: 400, seed: 3, split: "train", group: 4 };
  let blocks = 0;
  for (let first = 0; first < 400; first += 4) {
    const block = [0, 1, 2, 3].map((j) => synthScene(first + j, opts));
    // the block's first scene is the independent scene of its index
    assert.deepEqual(block[0], synthScene(first, { ...opts, group: 1 }));
    for (const s of block) for (const o of s.objects) assert.ok(!isHeldout(o.color, o.shape), `${o.color} ${o.shape} in train`);
    if (block[0]!.kind === "word") continue;
    blocks++;
    const strip = (s: ReturnType<typeof synthScene>): unknown => ({ ...s, captions: [], objects: s.objects.map(({ shape: _s, rot: _r, ...rest }) => rest) });
    for (const s of block.slice(1)) assert.deepEqual(strip(s), strip(block[0]!), `block ${first}: only shapes, rotations and captions differ`);
    // distinct shape sets within the block, and the captions name each item's own shapes
    const keys = block.map((s) => s.objects.map((o) => o.shape).join("+"));
    assert.equal(new Set(keys).size, 4, `block ${first}: ${keys.join(", ")}`);
    for (const s of block) {
      const shapes = new Set(s.objects.map((o) => o.shape));
      for (const c of s.captions) assert.ok([...shapes].some((sh) => c.includes(sh === "cross" ? "cross" : sh)), `"${c}" names none of ${[...shapes].join(", ")}`);
    }
  }
  assert.ok(blocks > 60, `${blocks} blocks of count or relation scenes`);
  // deterministic, and only the plain train split is grouped
  assert.deepEqual(synthScene(202, opts), synthScene(202, { ...opts }));
  for (const split of ["val", "heldout"] as const) assert.deepEqual(synthScene(5, { ...opts, split }), synthScene(5, { ...opts, split, group: 1 }));
  assert.deepEqual(synthScene(6, { ...opts, task: "shape" }), synthScene(6, { ...opts, task: "shape", group: 1 }));
  // through a SPEC: the option is read and checked
  const ds = openDataset("synth:?n=8&seed=3&group=4", { shuffle: false });
  const got = [];
  for await (const s of ds) got.push(s.captions);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => synthScene(i, { n: 8, seed: 3, group: 4 }).captions));
  assert.throws(() => openDataset("synth:?group=9"), /synth option group=9: expected an integer in \[1, 8\]/);
});

test("captions=partial: the same scenes, and count and relation scenes also named by their shapes alone; never a held-out pair", async () => {
  const full: SynthOptions = { n: 300, seed: 4, split: "train" };
  const partial: SynthOptions = { ...full, captions: "partial" };
  let shapeOnly = 0;
  let shapeOnlyScenes = 0;
  for (let i = 0; i < 300; i++) {
    const a = synthScene(i, full);
    const b = synthScene(i, partial);
    // the scene is drawn before its captions: objects, layout and background are those of the full mix
    assert.deepEqual({ ...b, captions: [] }, { ...a, captions: [] }, `item ${i}`);
    assert.ok(b.captions.length >= 3 && new Set(b.captions).size === b.captions.length);
    if (b.kind === "word") {
      assert.ok(b.captions.every((c) => c.includes(`"${b.word}"`)));
      continue;
    }
    let any = false;
    for (const c of b.captions) {
      assert.ok(b.objects.some((o) => c.includes(o.shape)), `"${c}" names none of the scene's shapes`);
      // a caption names an object's color with its shape (full) or no color at all (partial)
      const colors = COLORS.filter((col) => new RegExp(`\\b${col}\\b`).test(c));
      if (colors.length === 0) {
        shapeOnly++;
        any = true;
      } else for (const col of colors) assert.ok(b.objects.some((o) => o.color === col), `"${c}": ${col} is not in the scene`);
      for (const [col, sh] of HELDOUT_PAIRS) assert.ok(!c.includes(`${col} ${sh}`), `"${c}" names the held-out ${col} ${sh}`);
      if (b.kind === "count" && b.objects.length > 1) assert.ok(c.includes(COUNT_WORDS[b.objects.length - 1]!), `"${c}" names no count`);
    }
    if (any) shapeOnlyScenes++;
  }
  // about a quarter of the templates are shape-only; the full mix has none
  assert.ok(shapeOnlyScenes > 100 && shapeOnly > 120, `${shapeOnly} shape-only captions in ${shapeOnlyScenes} scenes`);
  for (let i = 0; i < 300; i++) {
    const s = synthScene(i, full);
    if (s.kind !== "word") for (const c of s.captions) assert.ok(COLORS.some((col) => c.includes(col)), `full mix: "${c}" names no color`);
  }
  // through a SPEC
  const ds = openDataset("synth:?n=6&seed=4&captions=partial", { shuffle: false });
  const got = [];
  for await (const s of ds) got.push(s.captions);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5].map((i) => synthScene(i, { n: 6, seed: 4, captions: "partial" }).captions));
  assert.throws(() => openDataset("synth:?captions=some"), /synth option captions=some: expected one of full, partial/);
});

test("mono=0.5: about half the scenes drawn in gray with color-free captions; the other half and mono=0 unchanged; never a held-out pair", async () => {
  const n = 400;
  const plain: SynthOptions = { n, seed: 7, split: "train" };
  const mono: SynthOptions = { ...plain, mono: 0.5 };
  assert.deepEqual(synthScene(3, { ...plain, mono: 0 }), synthScene(3, plain));
  let grayScenes = 0;
  for (let i = 0; i < n; i++) {
    const a = synthScene(i, plain);
    const b = synthScene(i, mono);
    for (const o of b.objects) assert.ok(!isHeldout(o.color, o.shape), `item ${i}: ${o.color} ${o.shape} is held out`);
    if (!b.mono) {
      // a color scene is the plain world's item, bytes and all
      assert.deepEqual(b, a, `item ${i}`);
      continue;
    }
    grayScenes++;
    // the same objects and layout; only the captions and the pixels change
    assert.deepEqual({ ...b, mono: undefined, captions: [] }, { ...a, mono: undefined, captions: [] }, `item ${i}`);
    assert.ok(b.captions.length >= 3 && new Set(b.captions).size === b.captions.length);
    for (const c of b.captions) {
      assert.ok(!COLORS.some((col) => new RegExp(`\\b${col}\\b`).test(c)), `item ${i}: "${c}" names a color`);
      if (b.kind === "word") assert.ok(c.includes(`"${b.word}"`), `"${c}"`);
      else assert.ok(b.objects.some((o) => c.includes(o.shape)), `item ${i}: "${c}" names none of the scene's shapes`);
      if (b.kind === "count" && b.objects.length > 1) assert.ok(c.includes(COUNT_WORDS[b.objects.length - 1]!), `"${c}" names no count`);
    }
    const { data, info } = await sharp(synthSample(i, mono).image).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 3);
    for (let o = 0; o < data.length; o += 3) assert.ok(data[o] === data[o + 1] && data[o] === data[o + 2], `item ${i}: pixel ${o / 3} is not gray`);
    // the gray image is the color image's luma (PIL's convert("L")), pixel for pixel
    const color = new Uint8Array(await sharp(synthSample(i, plain).image).raw().toBuffer());
    grayscaleRGB(color);
    assert.ok(Buffer.from(color).equals(data), `item ${i}: not the color image's luma`);
  }
  assert.ok(grayScenes > 160 && grayScenes < 240, `${grayScenes} gray scenes of ${n}`);
  // classification views and other shares: none gray at 0, all at 1
  assert.ok(Array.from({ length: 50 }, (_, i) => synthScene(i, { ...mono, task: "shape" })).every((s) => !s.mono));
  assert.ok(Array.from({ length: 50 }, (_, i) => synthScene(i, { ...plain, mono: 1 })).every((s) => s.mono));
  // through a SPEC: read and checked
  const ds = openDataset("synth:?n=6&seed=7&mono=0.5", { shuffle: false });
  const got = [];
  for await (const s of ds) got.push(s.captions);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5].map((i) => synthScene(i, { n: 6, seed: 7, mono: 0.5 }).captions));
  for (const bad of ["1.5", "-0.1", "half", ""]) assert.throws(() => openDataset(`synth:?mono=${bad}`), new RegExp(`synth option mono=${bad}: expected a share in \\[0, 1\\]`));
});
