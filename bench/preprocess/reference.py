"""Reference side of the preprocessing bench: PIL + torchvision clip._transform on the same JPEGs.

Reads the WebDataset tar shards into memory, then decodes + preprocesses every .jpg with
openai/CLIP's transform (Resize(N, bicubic), CenterCrop(N), convert("RGB"), ToTensor, Normalize)
in a torch DataLoader with one worker process per core (persistent, one torch thread each),
collated into [B, 3, N, N] batches as a training or embedding loop consumes them.
One warm-up epoch starts the workers; the timed epochs follow. Prints one JSON line.

    /usr/bin/python3 bench/preprocess/reference.py --size 224 --batch 64 --epochs 1 SHARD.tar ...
"""
import argparse
import io
import json
import os
import sys
import tarfile
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def _convert_image_to_rgb(image):
    return image.convert("RGB")


def clip_transform(n_px):
    # clip/clip.py _transform
    return Compose([
        Resize(n_px, interpolation=InterpolationMode.BICUBIC),
        CenterCrop(n_px),
        _convert_image_to_rgb,
        ToTensor(),
        Normalize(MEAN, STD),
    ])


class Jpegs(Dataset):
    def __init__(self, blobs, n_px):
        self.blobs = blobs
        self.transform = clip_transform(n_px)

    def __len__(self):
        return len(self.blobs)

    def __getitem__(self, i):
        return self.transform(Image.open(io.BytesIO(self.blobs[i])))


def read_jpegs(shards, limit):
    blobs = []
    for shard in shards:
        with tarfile.open(shard) as tar:
            for m in tar:
                if m.isfile() and m.name.endswith(".jpg"):
                    blobs.append(tar.extractfile(m).read())
    return blobs[:limit] if limit else blobs


def _one_thread(_):
    torch.set_num_threads(1)


def _cpu_seconds(pids):
    """user + system CPU seconds of these processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("shards", nargs="+")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    blobs = read_jpegs(args.shards, args.limit)
    loader = DataLoader(Jpegs(blobs, args.size), batch_size=args.batch, num_workers=args.workers,
                        persistent_workers=True, worker_init_fn=_one_thread)
    checksum = 0.0
    it = iter(loader)  # warm-up: start the workers and run a few batches
    for _ in range(min(4, len(loader))):
        checksum += float(next(it)[:, :, 0, 0].sum())
    pids = [os.getpid()] + [w.pid for w in it._workers]
    del it
    rates, cpu_ms = [], []
    for _ in range(args.epochs):
        c = _cpu_seconds(pids)
        t = time.perf_counter()
        n = 0
        for x in loader:
            n += x.shape[0]
        rates.append(n / (time.perf_counter() - t))
        cpu_ms.append((_cpu_seconds(pids) - c) * 1000 / n)
    print(json.dumps({"images": len(blobs), "workers": args.workers, "batch": args.batch,
                      "images_per_s": rates, "cpu_ms_per_image": cpu_ms, "checksum": checksum}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
