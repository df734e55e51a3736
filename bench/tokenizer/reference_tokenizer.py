#!/usr/bin/env python3
"""The CLIP tokenizer's algorithm in Python, as openai/CLIP's simple_tokenizer.py + clip.tokenize
define it (ftfy.fix_text, html.unescape twice, whitespace collapse, lower case, the `regex`
pre-tokenizer, BPE merges by rank with a cache, <|startoftext|>/<|endoftext|>, zero padding), for
benchmarks and for comparing our TypeScript port. Needs python3-regex; ftfy unless --no-ftfy.

  reference_tokenizer.py --vocab V.txt.gz --input captions.txt --output ids.jsonl   # like `clip tokenize`
  reference_tokenizer.py --vocab V.txt.gz --bench captions.txt [--warmup other.txt] # in-process timing (JSON)
  reference_tokenizer.py --vocab V.txt.gz --cases texts.json                        # per-text details (JSON)
"""
import argparse
import copy
import gzip
import html
import json
import sys
import time

import regex

PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)
WHITESPACE = regex.compile(r"\s+")
SOT, EOT = "<|startoftext|>", "<|endoftext|>"


def byte_chars():
    """byte -> printable character; printable Latin-1 bytes stand for themselves."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    order, chars = printable[:], printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            order.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(order, map(chr, chars)))


class Tokenizer:
    def __init__(self, vocab_path, use_ftfy=True, vocab_size=49408):
        if use_ftfy:
            import ftfy

            self.fix = ftfy.fix_text
        else:
            self.fix = lambda text: text
        self.byte_encoder = byte_chars()
        self.byte_decoder = {c: b for b, c in self.byte_encoder.items()}
        with gzip.open(vocab_path) as f:
            lines = f.read().decode("utf-8").split("\n")
        merges = [tuple(line.split()) for line in lines[1 : vocab_size - 512 - 2 + 1] if line]
        vocab = list(self.byte_encoder.values())
        vocab += [c + "</w>" for c in vocab] + ["".join(m) for m in merges] + [SOT, EOT]
        self.encoder = {t: i for i, t in enumerate(vocab)}
        self.decoder = {i: t for t, i in self.encoder.items()}
        self.ranks = {m: r for r, m in enumerate(merges)}
        self.cache = {SOT: SOT, EOT: EOT}
        self.sot, self.eot = self.encoder[SOT], self.encoder[EOT]

    def clean(self, text):
        text = html.unescape(html.unescape(self.fix(text))).strip()
        return WHITESPACE.sub(" ", text).strip().lower()

    def bpe(self, piece):
        cached = self.cache.get(piece)
        if cached is not None:
            return cached
        word = tuple(piece[:-1]) + (piece[-1] + "</w>",)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            first, second = best
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        result = " ".join(word)
        self.cache[piece] = result
        return result

    def encode(self, text):
        ids = []
        for piece in PATTERN.findall(self.clean(text)):
            piece = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(piece).split(" "))
        return ids

    def decode(self, ids):
        text = "".join(self.decoder[i] for i in ids)
        return bytearray(self.byte_decoder[c] for c in text).decode("utf-8", errors="replace").replace("</w>", " ")

    def tokenize(self, text, context_length=77):
        """clip.tokenize(text, context_length, truncate=True) for one text, as a list."""
        ids = [self.sot] + self.encode(text) + [self.eot]
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = self.eot
        return ids + [0] * (context_length - len(ids))


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--no-ftfy", action="store_true")
    ap.add_argument("--context", type=int, default=77)
    ap.add_argument("--input")
    ap.add_argument("--output")
    ap.add_argument("--bench")
    ap.add_argument("--warmup", help="with --bench: other captions to tokenize before the steady-state pass")
    ap.add_argument("--cases")
    args = ap.parse_args()

    t0, c0 = time.perf_counter(), time.process_time()
    tok = Tokenizer(args.vocab, use_ftfy=not args.no_ftfy)
    load_s, load_cpu_s = time.perf_counter() - t0, time.process_time() - c0

    if args.bench:
        # first: this tokenizer, cache empty; steady: a new tokenizer (cache empty) after other
        # captions (--warmup) went through another one; warm: its second pass (cache warm)
        texts = read_lines(args.bench)

        def timed(t):
            t1, c1 = time.perf_counter(), time.process_time()
            for text in texts:
                t.tokenize(text, args.context)
            return time.perf_counter() - t1, time.process_time() - c1

        first = timed(tok)
        result = {"captions": len(texts), "load_s": load_s, "load_cpu_s": load_cpu_s, "first_s": first[0], "first_cpu_s": first[1]}
        if args.warmup:
            warmer = copy.copy(tok)
            warmer.cache = {SOT: SOT, EOT: EOT}
            for text in read_lines(args.warmup):
                warmer.tokenize(text, args.context)
            fresh = copy.copy(tok)
            fresh.cache = {SOT: SOT, EOT: EOT}
            steady, warm = timed(fresh), timed(fresh)
            result.update({"steady_s": steady[0], "steady_cpu_s": steady[1], "warm_s": warm[0], "warm_cpu_s": warm[1]})
        print(json.dumps(result))
    elif args.cases:
        with open(args.cases, encoding="utf-8") as f:
            texts = json.load(f)
        out = []
        for text in texts:
            try:
                ids = tok.encode(text)
                out.append({"text": text, "clean": tok.clean(text), "bpe_ids": ids, "tokenize": tok.tokenize(text, args.context), "decoded": tok.decode(ids)})
            except Exception as e:  # e.g. text that Python cannot encode as UTF-8
                out.append({"text": text, "error": repr(e)})
        json.dump(out, sys.stdout, ensure_ascii=True)
    elif args.input and args.output:
        texts = read_lines(args.input)
        with open(args.output, "w", encoding="utf-8") as f:
            for text in texts:
                f.write(json.dumps(tok.tokenize(text, args.context), separators=(",", ":")) + "\n")
    else:
        ap.error("give --bench FILE, --cases FILE, or --input FILE --output FILE")


if __name__ == "__main__":
    main()
