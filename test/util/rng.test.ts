/** @file The seeded generator: reference values, determinism, resumable state, ranges. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InternalError, UserError } from "../../src/errors.js";
import { Rng, hashSeed, permutation } from "../../src/util/rng.js";

/** xoshiro128** written with BigInt, straight from the published algorithm. */
function reference(state: bigint[], n: number): number[] {
  const s = [...state];
  const M = 0xffffffffn;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(Number((rotl((s[1]! * 5n) & M, 7n) * 9n) & M));
    const t = (s[1]! << 9n) & M;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11n);
  }
  return out;
}

test("nextU32 follows xoshiro128** exactly", () => {
  const r = new Rng();
  r.setState([1, 2, 3, 4]);
  const got = Array.from({ length: 8 }, () => r.nextU32());
  assert.deepEqual(got, reference([1n, 2n, 3n, 4n], 8));
  assert.equal(got[0], 11520);
});

test("same seed, same stream; different seeds differ", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xs = Array.from({ length: 100 }, () => a.next());
  assert.deepEqual(Array.from({ length: 100 }, () => b.next()), xs);
  assert.notDeepEqual(Array.from({ length: 100 }, () => c.next()), xs);
});

test("state() / setState() resume the exact stream", () => {
  const a = new Rng(7);
  for (let i = 0; i < 13; i++) a.normal();
  const saved = a.state();
  const expected = [a.next(), a.int(10), a.uniform(2, 3), a.normal()];
  const b = new Rng(999);
  b.setState(JSON.parse(JSON.stringify(saved)) as number[]);
  assert.deepEqual([b.next(), b.int(10), b.uniform(2, 3), b.normal()], expected);
  assert.throws(() => b.setState([0, 0, 0, 0]), UserError);
  assert.throws(() => b.setState([1, 2, 3]), UserError);
});

test("ranges: next in [0,1), uniform in [a,b), int in [0,n), normal roughly standard", () => {
  const r = new Rng(1);
  const counts = new Array(7).fill(0);
  let sum = 0, sq = 0;
  for (let i = 0; i < 20000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    const u = r.uniform(-2, 5);
    assert.ok(u >= -2 && u < 5);
    counts[r.int(7)]++;
    const z = r.normal();
    sum += z;
    sq += z * z;
  }
  for (const c of counts) assert.ok(c > 2500 && c < 3200, `int(7) counts ${counts}`);
  assert.ok(Math.abs(sum / 20000) < 0.05);
  assert.ok(Math.abs(sq / 20000 - 1) < 0.05);
  assert.throws(() => r.int(0), InternalError);
});

test("shuffle is a seeded permutation", () => {
  const a = new Rng(5).shuffle(Array.from({ length: 50 }, (_, i) => i));
  const b = new Rng(5).shuffle(Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(a, b);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 50 }, (_, i) => i));
});

test("Rng.from: seed parts give distinct, reproducible streams; permutation is a permutation", () => {
  const a = Rng.from(7, "shuffle", 0);
  const b = Rng.from(7, "shuffle", 0);
  const c = Rng.from(7, "shuffle", 1);
  const xs = Array.from({ length: 8 }, () => a.nextU32());
  assert.deepEqual(Array.from({ length: 8 }, () => b.nextU32()), xs);
  assert.notDeepEqual(Array.from({ length: 8 }, () => c.nextU32()), xs);
  assert.notEqual(hashSeed(1, "a"), hashSeed("1", "a")); // numbers and strings never collide by spelling
  const p = permutation(100, 3, "items");
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(permutation(100, 3, "items"), p);
  const t = Int32Array.from({ length: 10 }, (_, i) => i);
  new Rng(1).shuffle(t);
  assert.deepEqual(Array.from(t).sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => i));
  const picks = new Set(Array.from({ length: 200 }, () => a.pick(["x", "y", "z"])));
  assert.equal(picks.size, 3);
});
