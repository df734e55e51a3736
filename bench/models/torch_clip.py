"""PyTorch side of bench/models: the openai/CLIP ViT architecture written for the bench, loading our
open_clip-layout checkpoint, timed eagerly, and exported with torch.onnx.export for ONNX Runtime.

usage: torch_clip.py CHECKPOINT_DIR BATCH ITERS THREADS EXPORT_DIR
prints one JSON line: eager images/s and texts/s, and the paths of the exported ONNX files.
"""
import json, os, struct, sys, time
from collections import OrderedDict
import numpy as np
import torch
from torch import nn

ckpt, batch, iters, threads, export_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
torch.set_num_threads(threads)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for k, v in header.items():
            if k == "__metadata__":
                continue
            b, e = v["data_offsets"]
            f.seek(base + b)
            dt = {"F32": np.float32, "I64": np.int64, "F16": np.float16}[v["dtype"]]
            out[k] = torch.from_numpy(np.frombuffer(f.read(e - b), dtype=dt).reshape(v["shape"]).copy()).float()
        return out


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    def __init__(self, d, h, act, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, h)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", act()), ("c_proj", nn.Linear(4 * d, d))]))
        self.ln_2 = nn.LayerNorm(d)
        self.attn_mask = mask

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, d, layers, h, act, mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[Block(d, h, act, mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class Visual(nn.Module):
    def __init__(self, res, patch, width, layers, heads, out, act):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros((res // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, act)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, out))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        x = torch.cat([self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1]), x], dim=1)
        x = self.ln_pre(x + self.positional_embedding)
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class Clip(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        v, t = cfg["vision_cfg"], cfg["text_cfg"]
        act = QuickGELU if cfg.get("quick_gelu") else nn.GELU
        self.visual = Visual(v["image_size"], v["patch_size"], v["width"], v["layers"], v["width"] // 64, cfg["embed_dim"], act)
        ctx = t["context_length"]
        mask = torch.full((ctx, ctx), float("-inf")).triu_(1)
        self.transformer = Transformer(t["width"], t["layers"], t["heads"], act, mask)
        self.token_embedding = nn.Embedding(t["vocab_size"], t["width"])
        self.positional_embedding = nn.Parameter(torch.zeros(ctx, t["width"]))
        self.ln_final = nn.LayerNorm(t["width"])
        self.text_projection = nn.Parameter(torch.zeros(t["width"], cfg["embed_dim"]))
        self.logit_scale = nn.Parameter(torch.zeros([]))

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection


cfg = json.load(open(os.path.join(ckpt, "open_clip_config.json")))["model_cfg"]
model = Clip(cfg).eval()
model.load_state_dict(read_safetensors(os.path.join(ckpt, "open_clip_model.safetensors")))
S, L, V = cfg["vision_cfg"]["image_size"], cfg["text_cfg"]["context_length"], cfg["text_cfg"]["vocab_size"]
g = torch.Generator().manual_seed(0)
pixels = torch.randn(batch, 3, S, S, generator=g)
tokens = torch.randint(1, V - 2, (batch, L), generator=g)
tokens[:, 0] = V - 2
tokens[:, 12] = V - 1
tokens[:, 13:] = 0


def median_rate(fn):
    with torch.no_grad():
        fn(); fn()
        ts = []
        for _ in range(iters):
            t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    ts.sort()
    return batch / ts[len(ts) // 2]


img_rate = median_rate(lambda: model.visual(pixels))
txt_rate = median_rate(lambda: model.encode_text(tokens))


class TextOnly(nn.Module):
    def __init__(self, m):
        super().__init__(); self.m = m

    def forward(self, t):
        return self.m.encode_text(t)


os.makedirs(export_dir, exist_ok=True)
img_onnx, txt_onnx = os.path.join(export_dir, "image.onnx"), os.path.join(export_dir, "text.onnx")
with torch.no_grad():
    torch.onnx.export(model.visual, pixels, img_onnx, input_names=["pixels"], output_names=["features"], dynamic_axes={"pixels": {0: "B"}}, opset_version=14)
    torch.onnx.export(TextOnly(model), tokens, txt_onnx, input_names=["tokens"], output_names=["features"], dynamic_axes={"tokens": {0: "B"}}, opset_version=14)
print(json.dumps({"torch_images_per_second": img_rate, "torch_texts_per_second": txt_rate, "torch": torch.__version__, "image_onnx": img_onnx, "text_onnx": txt_onnx}))
