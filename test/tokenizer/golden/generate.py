#!/usr/bin/env python3
"""Generates cases.json: texts that exercise every ftfy fixer, HTML entities, Unicode classes and
BPE, with what the reference tokenizer (bench/tokenizer/reference_tokenizer.py, i.e. openai/CLIP's
algorithm with ftfy 6.3.1 and python3-regex) makes of them. The tests only read cases.json.

    PYTHONPATH=/path/to/ftfy-6.3.1 python3 test/tokenizer/golden/generate.py > test/tokenizer/golden/cases.json
"""
import collections
import html.entities
import json
import os
import random
import sys

import ftfy
import ftfy.bad_codecs  # noqa: F401  (registers the sloppy codecs used to make mojibake)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../.."))
sys.path.insert(0, os.path.join(ROOT, "bench/tokenizer"))
from reference_tokenizer import Tokenizer  # noqa: E402

assert ftfy.__version__ == "6.3.1", ftfy.__version__
VOCAB = os.path.join(ROOT, "../shared/vocab/bpe_simple_vocab_16e6.txt.gz")
rng = random.Random(20240601)

CAPTIONS = [
    "A black dog is running through the grass .",
    "Two children play on the beach near the waves",
    "A man in a red jacket climbs a rocky cliff .",
    "a girl with a pink umbrella walks in the rain",
]
SEEDS = [
    "café naïve résumé", "Ünïcödé MIXED case ÀÉÎÕÜ", "“curly quotes” and ‘single’ — dash…",
    "emoji 🐱🐶 test 🚀", "日本語のテキスト", "ಠ_ಠ ¯\\_(ツ)_/¯", "Ελληνικά κείμενα", "Русский текст здесь",
    "à la mode, voilà", "żółć gęślą jaźń", "Straße ß", "señor niño año", "smart ’ ” ‘ “ •",
    "ça va? très bien!", "I ♥ NY ✔ ✓ €20 £5 ¥100", "naïve façade coöperate", "São Paulo às vezes",
    "fà cil àquele", "a\xa0b \xa0lead x\xa0\xa0y", "emoji 😀 and 🐱 ĳssel Ωmega",
]
POOLS = {
    "ascii": [chr(c) for c in range(32, 127)],
    "ctrl": [chr(c) for c in list(range(0, 32)) + [127]],
    "latin1": [chr(c) for c in range(0x80, 0x100)],
    "latinext": [chr(c) for c in range(0x100, 0x250)],
    "greek": [chr(c) for c in range(0x370, 0x400)],
    "cyr": [chr(c) for c in range(0x400, 0x460)],
    "comb": [chr(c) for c in range(0x300, 0x370)],
    "cjk": [chr(c) for c in list(range(0x3040, 0x3100)) + list(range(0x4E00, 0x4E80)) + list(range(0xAC00, 0xAC40))],
    "full": [chr(c) for c in range(0xFF00, 0xFFF0)] + ["\u3000"],
    "punct": [chr(c) for c in range(0x2000, 0x2070)] + ["\u02bc", "\ufeff", "\ufffd", "\ufffc", "\u0345", "\u017f"],
    "emoji": [chr(c) for c in range(0x1F300, 0x1F340)] + [chr(c) for c in range(0x1D400, 0x1D410)],
    "lig": list("ĲĳŉǱǲǳǄǅǆǇǈǉǊǋǌﬀﬁﬂﬃﬄﬅﬆ"),
    "ws": list(" \t\n\r\x0b\x0c\x1c\x1d\x85\xa0\u1680\u2000\u2028\u2029\u202f\u205f\u3000"),
    "box": list("│┌┐┘├┤┬┼▀▄█▌▐░▒▓─═"),
    "mac": list("√±∂†≠®™´≤≥¥µø≈°¢‚Äìîïòôúùû"),
    "special": ["<|startoftext|>", "<|endoftext|>", "<|ſtartoftext|>", "'s", "'ſ", "'t", "'re", "'ll", "'d", "'m", "'ve", "\x1b[31m", "\x1b[0m", "\x1b[١m"],
}
ENTITY_NAMES = list(html.entities.html5.keys())
ENCODINGS = ["latin-1", "sloppy-windows-1252", "windows-1252", "sloppy-windows-1251", "sloppy-windows-1250",
             "sloppy-windows-1253", "sloppy-windows-1254", "sloppy-windows-1257", "iso-8859-2", "macroman", "cp437"]


def entity():
    r = rng.random()
    if r < 0.4:
        return "&" + rng.choice(ENTITY_NAMES)
    if r < 0.55:
        return "&" + rng.choice(ENTITY_NAMES).upper()
    if r < 0.7:
        return "&#%d;" % rng.choice([0, 1, 9, 10, 13, 27, 65, 128, 133, 150, 159, 160, 233, 8217, 0xD800, 0xFFFE, 0x1F600, 0x110000, rng.randrange(0, 70000)])
    if r < 0.8:
        return "&#x%x;" % rng.randrange(0, 0x110100)
    if r < 0.9:
        return "&amp;" + rng.choice(["lt;", "eacute;", "amp;lt;", "#39;", "hellip;"])
    return "&" + "".join(rng.choice("abcdefXYZ#;0123") for _ in range(rng.randrange(1, 8)))


def random_text():
    kinds = rng.sample(list(POOLS), rng.randrange(1, 4))
    out = []
    for _ in range(rng.randrange(0, 40)):
        r = rng.random()
        out.append(entity() if r < 0.05 else " " if r < 0.25 else rng.choice(POOLS[rng.choice(kinds)]))
    return "".join(out)


def cesu8(text):
    out = b""
    for ch in text:
        c = ord(ch)
        if c > 0xFFFF:
            c -= 0x10000
            for s in (0xD800 + (c >> 10), 0xDC00 + (c & 0x3FF)):
                out += chr(s).encode("utf-8", "surrogatepass")
        else:
            out += ch.encode("utf-8")
    return out


def mojibake(text, depth=0):
    data = cesu8(text) if rng.random() < 0.2 else text.encode("utf-8")
    if rng.random() < 0.2:
        data = data.replace(b"\xa0", b" ")
    if rng.random() < 0.05:
        data += b"\xc0\x80"
    out = data.decode(rng.choice(ENCODINGS), errors="replace")
    if depth < 2 and rng.random() < 0.2:
        out = mojibake(out, depth + 1)
    if rng.random() < 0.1 and "\ufffd" in out:
        out = out.replace("\ufffd", "?")
    return out


def candidates(n):
    for _ in range(n):
        r = rng.random()
        if r < 0.35:
            yield random_text()
        elif r < 0.65:
            seed = rng.choice(SEEDS)
            yield mojibake(rng.choice(CAPTIONS) + " " + seed if rng.random() < 0.3 else seed)
        elif r < 0.75:
            parts = [mojibake(rng.choice(SEEDS)) if rng.random() < 0.5 else rng.choice(SEEDS) for _ in range(rng.randrange(1, 4))]
            yield rng.choice([" ", "\n", " | "]).join(parts)
        elif r < 0.85:
            yield "".join(entity() if rng.random() < 0.4 else rng.choice(["a", "<", ">", "b ", "x", " "]) for _ in range(rng.randrange(1, 12)))
        else:
            yield rng.choice(SEEDS + CAPTIONS).upper()


FIXED = [
    "Ã©\xc0\n", "cafÃ© \xc0\n", "Ã© ÃƒÂ©", "voilÃ le travail", "Ãºnico", "This â€” should be an em dash",
    "&macr;\\_(ã\x83\x84)_/&macr;", "ＬＯＵＤ　ＮＯＩＳＥＳ", "P&EACUTE;REZ BUNDESSTRA&SZLIG;E", "&ntilde; &Ntilde; &NTILDE; &nTILDE;",
    "\x1b[36;44mI'm blue, da ba dee\x1b[0m", "\ufeffParty like\nit&rsquo;s 1999!", "<b>&amp;</b>\n&amp;", "&amp;\n<i>\n&amp;",
    "&#x41;&#65;&#65z;&#x;&#128;&#0;&#13;&#1;&#xD800;&#1114112;", "&amp;amp;amp;amp;", "&ampx &amp &lt3 &notit; &notin; &not;",
    "İstanbul İ", "ΣΑΣ ΟΔΟΣ σ", "ᾼ ῌ ῼ", "ǅ ǈ ǋ ǲ", "ﬅ ﬆ 'ﬅ 'ſ", "\u0345x \u03b1\u0345", "x\u0345y", "Ⅰ Ⅱ ⅰ ① ⑴ ¹²³ ½",
    "\u212a\u212b", "ＡＢＣ１２３ｱｲｳ ﾊﾟ", "A\u030a e\u0301 n\u0303", "\u200b\u200czero\u200dwidth\u2060", "\u00ad soft\u00adhyphen",
    "This text was never UTF-8 at all\x85", "AHÅ™, the new sofa from IKEA®", "not such a fan of Charlotte Brontë…”",
    "\xc3\xa0\xc2\xb2\xc2\xa0_\xc3\xa0\xc2\xb2\xc2\xa0", "uÌˆnicode", "Broken text&hellip; it&#x2019;s ﬂubberiﬁc!",
    "â€œ like this â€�", "ÃƒÂ¡ ÃƒÂ©", "\ud83d\ude00".encode("utf-16", "surrogatepass").decode("utf-16"),
]


def main():
    tok = Tokenizer(VOCAB)
    # keep a text while one of its fix steps (or, for texts ftfy leaves alone, its kind) is rare so far
    counts = collections.Counter()
    chosen = list(FIXED)
    for text in candidates(40000):
        _, steps = ftfy.fix_and_explain(text)
        keys = set(tuple(s) for s in steps or []) or {("none", "plain")}
        if any(counts[k] < (60 if k == ("none", "plain") else 8) for k in keys):
            chosen.append(text)
            counts.update(keys)
    cases, seen = [], set()
    for text in chosen:
        if text in seen:
            continue
        seen.add(text)
        ids = tok.encode(text)
        cases.append({"text": text, "clean": tok.clean(text), "bpe_ids": ids, "decoded": tok.decode(ids)})
    about = ("openai/CLIP's tokenizer algorithm (bench/tokenizer/reference_tokenizer.py) with ftfy 6.3.1 and the "
             "python regex module on texts chosen to cover every ftfy fixer path; made by generate.py")
    lines = ",\n".join(json.dumps(c, ensure_ascii=True, separators=(",", ":")) for c in cases)
    sys.stdout.write('{"about": %s,\n"cases": [\n%s\n]}\n' % (json.dumps(about), lines))


if __name__ == "__main__":
    main()
