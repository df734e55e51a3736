"""PyTorch eager side of bench/int8: the bench's openai/CLIP model (bench/models/torch_clip_model.py)
on our checkpoint, fp32, timed without export.

usage: torch_eager.py CHECKPOINT_DIR BATCH ITERS THREADS
prints one JSON line: images/s and texts/s (medians of ITERS runs after two warm-ups).
"""
import json, os, sys, time
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from torch_clip_model import Clip, read_safetensors  # noqa: E402

ckpt, batch, iters, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
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


print(json.dumps({"images_per_second": median_rate(lambda: model.visual(pixels)), "texts_per_second": median_rate(lambda: model.encode_text(tokens)), "torch": torch.__version__}))
