"""PyTorch side of bench/models: the openai/CLIP ViT architecture written for the bench, loading our
open_clip-layout checkpoint, timed eagerly, and exported with torch.onnx.export for ONNX Runtime.

usage: torch_clip.py CHECKPOINT_DIR BATCH ITERS THREADS [EXPORT_DIR]
prints one JSON line: eager images/s and texts/s, and (with EXPORT_DIR) the paths of the exported ONNX files.
TORCH_TEXT_POSITIONS=P (environment) also times the text tower over the first P positions only (the
positional embedding and causal mask cut to P), the work `clip bench` does when its batch ends by P:
"torch_texts_per_second_at_positions".
"""
import json, os, sys, time
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_clip_model import Clip, read_safetensors  # noqa: E402

ckpt, batch, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
export_dir = sys.argv[5] if len(sys.argv) > 5 else None
torch.set_num_threads(threads)


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


def encode_text_at(text, P):
    """encode_text over the first P positions: causal attention makes positions < P independent of the rest."""
    blocks = model.transformer.resblocks
    full = blocks[0].attn_mask
    for b in blocks:
        b.attn_mask = full[:P, :P]
    try:
        t = text[:, :P]
        x = model.token_embedding(t) + model.positional_embedding[:P]
        x = model.ln_final(model.transformer(x.permute(1, 0, 2)).permute(1, 0, 2))
        return x[torch.arange(x.shape[0]), t.argmax(dim=-1)] @ model.text_projection
    finally:
        for b in blocks:
            b.attn_mask = full


positions = int(os.environ.get("TORCH_TEXT_POSITIONS", "0"))
extra = {}
if positions:
    with torch.no_grad():  # the same features as the full length: the cut changes no output
        assert torch.allclose(encode_text_at(tokens, positions), model.encode_text(tokens), atol=1e-4)
    extra = {"torch_texts_per_second_at_positions": median_rate(lambda: encode_text_at(tokens, positions)), "positions": positions}


class TextOnly(nn.Module):
    def __init__(self, m):
        super().__init__(); self.m = m

    def forward(self, t):
        return self.m.encode_text(t)


if export_dir is None:
    print(json.dumps({"torch_images_per_second": img_rate, "torch_texts_per_second": txt_rate, "torch": torch.__version__, **extra}))
    sys.exit(0)
os.makedirs(export_dir, exist_ok=True)
img_onnx, txt_onnx = os.path.join(export_dir, "image.onnx"), os.path.join(export_dir, "text.onnx")
with torch.no_grad():
    torch.onnx.export(model.visual, pixels, img_onnx, input_names=["pixels"], output_names=["features"], dynamic_axes={"pixels": {0: "B"}}, opset_version=14)
    torch.onnx.export(TextOnly(model), tokens, txt_onnx, input_names=["tokens"], output_names=["features"], dynamic_axes={"tokens": {0: "B"}}, opset_version=14)
print(json.dumps({"torch_images_per_second": img_rate, "torch_texts_per_second": txt_rate, "torch": torch.__version__, "image_onnx": img_onnx, "text_onnx": txt_onnx}))
