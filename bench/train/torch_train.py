"""PyTorch side of bench/train: a CLIP training loop written for the bench, on the same model,
initial weights, batch and data as `clip train`.

usage: torch_train.py CHECKPOINT_DIR SAMPLES_JSON BATCH STEPS THREADS
SAMPLES_JSON: [{"jpg": path to a JPEG file, "tokens": [[ids] per caption]}] (written by train.ts)
prints one JSON line with the median samples/s (data loading included, warm-up steps excluded).
"""
import json, math, os, random, sys, time
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from torch_clip_model import Clip, read_safetensors  # noqa: E402

ckpt, samples_json, batch, steps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)
random.seed(0)

full = json.load(open(os.path.join(ckpt, "open_clip_config.json")))
cfg, pre = full["model_cfg"], full["preprocess_cfg"]
S, L = cfg["vision_cfg"]["image_size"], cfg["text_cfg"]["context_length"]
model = Clip(cfg)
model.load_state_dict(read_safetensors(os.path.join(ckpt, "open_clip_model.safetensors")))
model.logit_scale.data.fill_(math.log(1 / 0.07))
model.train()

transform = transforms.Compose([
    transforms.RandomResizedCrop(S, scale=(0.9, 1.0), interpolation=transforms.InterpolationMode.BICUBIC),
    lambda im: im.convert("RGB"),
    transforms.ToTensor(),
    transforms.Normalize(pre["mean"], pre["std"]),
])
items = json.load(open(samples_json))


class Pairs(torch.utils.data.Dataset):
    def __len__(self):
        return len(items)

    def __getitem__(self, i):
        it = items[i]
        ids = random.choice(it["tokens"])
        t = torch.zeros(L, dtype=torch.long)
        t[: len(ids)] = torch.tensor(ids)
        return transform(Image.open(it["jpg"])), t


loader = torch.utils.data.DataLoader(Pairs(), batch_size=batch, shuffle=True, num_workers=threads, drop_last=True, persistent_workers=True)
exclude = lambda n, p: p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n  # noqa: E731
params = list(model.named_parameters())
opt = torch.optim.AdamW([
    {"params": [p for n, p in params if exclude(n, p)], "weight_decay": 0.0},
    {"params": [p for n, p in params if not exclude(n, p)], "weight_decay": 0.2},
], lr=5e-4, betas=(0.9, 0.98), eps=1e-6)
labels = torch.arange(batch)
times, done = [], 0
while done < steps:
    t0 = time.perf_counter()
    for images, tokens in loader:
        img = F.normalize(model.visual(images), dim=-1)
        txt = F.normalize(model.encode_text(tokens), dim=-1)
        logits = model.logit_scale.exp() * img @ txt.t()
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        done += 1
        if done >= steps:
            break
meas = sorted(times[3:])
print(json.dumps({"samples_per_second": batch / meas[len(meas) // 2], "steps": done, "loss": loss.item(), "torch": torch.__version__}))
