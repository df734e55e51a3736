"""Generates the tiny PyTorch checkpoint fixtures in test/fixtures/torch/ (run once, results committed).

Needs PyTorch (Debian's python3-torch 1.13 was used): /usr/bin/python3 test/fixtures-gen/make_torch_fixtures.py
Each NAME.bin/.pt comes with NAME.expected.json: every tensor's dtype, shape and values (as float64
or int), as PyTorch itself reads them back, so the tests need no Python. The two larger fixtures
(openai_vit_tiny.pt, torchscript.pt) hold formula values instead, so their JSON stays small:
float tensor number j (in sorted key order), element i (row-major) = ((7 i + 13 j) % 101 - 50) / 32,
exact in fp16.
"""
import collections
import io
import json
import os
import zipfile

import torch
import torch.nn as nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch")
DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def formula_fill(state):
    """Overwrites every float tensor in place with the formula values (views keep their strides)."""
    with torch.no_grad():
        for j, k in enumerate(sorted(state)):
            t = state[k]
            if t.is_floating_point():
                i = torch.arange(t.numel()).reshape(t.shape)
                t.copy_(((7 * i + 13 * j) % 101 - 50).double() / 32)


def expected(state, formula=False):
    out = {}
    for k, t in state.items():
        if formula and t.is_floating_point():
            out[k] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "formula": True}
            continue
        vals = t.detach().contiguous().reshape(-1)
        if t.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            vals = vals.double().tolist()
        else:
            vals = vals.long().tolist()
        out[k] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "values": vals}
    return out


def save(name, obj, state, formula=False, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    with open(os.path.splitext(path)[0] + ".expected.json", "w") as f:
        json.dump(expected(state, formula), f, indent=None, separators=(",", ":"))
        f.write("\n")
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    g = torch.Generator().manual_seed(1234)
    rand = lambda *s: torch.randn(*s, generator=g)

    # 1. dtypes, scalars and views: transposed, strided with offset, partial slice sharing a storage, stride 0
    base = rand(4, 6)
    big = rand(10)
    sd = collections.OrderedDict()
    sd["f32"] = rand(3, 4)
    sd["f16"] = rand(5).half()
    sd["bf16"] = rand(2, 3).bfloat16()
    sd["f64"] = rand(2).double()
    sd["i64"] = torch.tensor([0, -3, 2**40])
    sd["i32"] = torch.tensor([7, -8], dtype=torch.int32)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.5)
    sd["base"] = base
    sd["transposed"] = base.t()  # [6, 4], stride (1, 6)
    sd["strided"] = base[1:, 1:5:2]  # [3, 2], offset 7, stride (6, 2)
    sd["slice"] = big[3:7]  # contiguous, offset 3, storage shared with "big"
    sd["big"] = big
    sd["expanded"] = rand(3).expand(2, 3)  # stride (0, 1)
    sd["half_t"] = rand(3, 2).half().t()  # non-contiguous fp16
    sd["empty"] = torch.zeros(0, 3)
    assert not sd["transposed"].is_contiguous() and not sd["strided"].is_contiguous()
    path = save("state_dict.bin", sd, sd)

    # the same archive re-zipped by Python's zipfile: deflated entries and zip64 records
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(os.path.join(OUT, "deflated_zip64.bin"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            with dst.open(info.filename, "w", force_zip64=True) as f:
                f.write(src.read(info.filename))

    # 2. a training checkpoint: {"epoch", "state_dict" with DDP's "module." prefix, "optimizer"}
    w = collections.OrderedDict([("module.a.weight", rand(2, 2)), ("module.a.bias", rand(2)), ("module.logit_scale", torch.tensor(4.6052))])
    ckpt = {"epoch": 3, "name": "run", "state_dict": w, "optimizer": {"state": {0: {"exp_avg": rand(2, 2)}}, "param_groups": [{"lr": 1e-4}]}}
    save("wrapped.bin", ckpt, collections.OrderedDict((k[len("module."):], v) for k, v in w.items()))

    # 3. an OpenAI-style state dict of a tiny ViT CLIP, in fp16 as OpenAI released them
    vw, tw, emb, patch, grid, ctx, vocab = 16, 16, 8, 4, 2, 8, 32
    clip = collections.OrderedDict()
    clip["positional_embedding"] = rand(ctx, tw)
    clip["text_projection"] = rand(tw, emb)
    clip["logit_scale"] = torch.tensor(4.6052)
    clip["visual.class_embedding"] = rand(vw)
    clip["visual.positional_embedding"] = rand(grid * grid + 1, vw)
    clip["visual.proj"] = rand(vw, emb)
    clip["visual.conv1.weight"] = rand(vw, 3, patch, patch)
    clip["visual.ln_pre.weight"] = rand(vw)
    clip["visual.ln_pre.bias"] = rand(vw)

    def block(prefix, w):
        clip[f"{prefix}.attn.in_proj_weight"] = rand(3 * w, w)
        clip[f"{prefix}.attn.in_proj_bias"] = rand(3 * w)
        clip[f"{prefix}.attn.out_proj.weight"] = rand(w, w)
        clip[f"{prefix}.attn.out_proj.bias"] = rand(w)
        clip[f"{prefix}.ln_1.weight"] = rand(w)
        clip[f"{prefix}.ln_1.bias"] = rand(w)
        clip[f"{prefix}.mlp.c_fc.weight"] = rand(4 * w, w)
        clip[f"{prefix}.mlp.c_fc.bias"] = rand(4 * w)
        clip[f"{prefix}.mlp.c_proj.weight"] = rand(w, 4 * w)
        clip[f"{prefix}.mlp.c_proj.bias"] = rand(w)
        clip[f"{prefix}.ln_2.weight"] = rand(w)
        clip[f"{prefix}.ln_2.bias"] = rand(w)

    block("visual.transformer.resblocks.0", vw)
    clip["visual.ln_post.weight"] = rand(vw)
    clip["visual.ln_post.bias"] = rand(vw)
    block("transformer.resblocks.0", tw)
    clip["token_embedding.weight"] = rand(vocab, tw)
    clip["ln_final.weight"] = rand(tw)
    clip["ln_final.bias"] = rand(tw)
    clip = collections.OrderedDict((k, v.half()) for k, v in clip.items())
    formula_fill(clip)
    # OpenAI's JIT state dicts also hold these (build_model deletes them)
    with_extras = collections.OrderedDict(clip)
    with_extras["input_resolution"] = torch.tensor(grid * patch)
    with_extras["context_length"] = torch.tensor(ctx)
    with_extras["vocab_size"] = torch.tensor(vocab)
    save("openai_vit_tiny.pt", with_extras, clip, formula=True)

    # 4. a TorchScript archive (as OpenAI's .pt files are): parameters and buffers in a module tree
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2)
            self.ln_1 = nn.LayerNorm(8)
            self.mlp = nn.Sequential(collections.OrderedDict([("c_fc", nn.Linear(8, 16)), ("c_proj", nn.Linear(16, 8))]))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x), self.ln_1(x), self.ln_1(x), need_weights=False)[0]
            return x + self.mlp(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.positional_embedding = nn.Parameter(torch.randn(4, 8, generator=g))
            self.transformer = nn.Sequential(Block(), Block())
            self.bn = nn.BatchNorm1d(8)
            self.proj = nn.Parameter(torch.randn(8, 3, generator=g).t())  # a non-contiguous parameter

        def forward(self, x):
            x = self.transformer(x + self.positional_embedding)
            return self.bn(x.reshape(-1, 8)) @ self.proj.t()

    net = Net().eval()
    formula_fill(net.state_dict(keep_vars=True))
    with torch.no_grad():
        net.bn.num_batches_tracked.fill_(5)
    assert not net.proj.is_contiguous()
    scripted = torch.jit.script(net)
    path = os.path.join(OUT, "torchscript.pt")
    scripted.save(path)
    state = torch.jit.load(path).state_dict()
    with open(os.path.join(OUT, "torchscript.expected.json"), "w") as f:
        json.dump(expected(state, formula=True), f, separators=(",", ":"))
        f.write("\n")

    # 5. the legacy (pre-1.6) non-zip format, which we refuse with instructions
    torch.save({"x": torch.zeros(2)}, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)

    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)))


if __name__ == "__main__":
    main()
