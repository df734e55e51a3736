"""open_clip's own loader on checkpoints written by clip-ts (test/weights/open_clip_tokenizer.test.ts).

Usage: python open_clip_check.py DIR TEXT...  ->  one JSON line: {tokenizer, ids, text_features}
Runs from "/" so that nothing resolves against the caller's working directory.
"""
import json
import os
import sys

import open_clip
import torch

directory, texts = sys.argv[1], sys.argv[2:]
os.chdir("/")
model, _, _ = open_clip.create_model_and_transforms(f"local-dir:{directory}")
tok = open_clip.get_tokenizer(f"local-dir:{directory}")
if isinstance(tok, open_clip.tokenizer.HFTokenizer):
    # transformers >= 5 refuses return_tensors="pt" with torch < 2.5: the same call, tensor made here
    inner = tok.tokenizer

    class Wrapped:
        def __call__(self, batch, return_tensors=None, **kw):
            out = type("Out", (), {})()
            out.input_ids = torch.tensor(inner(batch, **kw)["input_ids"])
            return out

        def __getattr__(self, k):
            return getattr(inner, k)

    tok.tokenizer = Wrapped()
ids = tok(texts)
with torch.no_grad():
    features = model.encode_text(ids)
print(json.dumps({"tokenizer": type(tok).__name__, "ids": ids.tolist(), "text_features": features.tolist()}))
