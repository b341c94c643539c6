"""Makes normalizer_goldens.json: Hugging Face's ids for text that the
`tokenizers` normalizers change (tests/tokenizer_test.cpp, NormalizerGoldens).

- "gpt_neox": the tiny GPT-NeoX folder (NFC normalizer) through transformers'
  AutoTokenizer: ids with and without special tokens, and decode.
- "variants": the same tokenizer.json with its "normalizer" replaced (and
  optionally extra added tokens appended), encoded by `tokenizers` directly.
  The test applies the same edit to the same file, so both sides read one
  tokenizer.json.

Run from the repository root:
  /work/main/.venv/bin/python tests/data/tokenizer/make_normalizer_goldens.py
"""
import json
import os

import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import AutoTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
NEOX = os.path.join(HERE, "../models/gpt_neox")
OUT = os.path.join(HERE, "normalizer_goldens.json")

TEXTS = [
    "e\u0301",                                  # composes to U+00E9 under NFC
    "cafe\u0301 re\u0301sume\u0301 vs caf\u00e9",
    "A\u030a \u00c5 \u212b",                    # U+212B ANGSTROM SIGN is a singleton decomposition
    "\u2126hm \u03a9",                          # U+2126 OHM SIGN -> U+03A9
    "\u1112\u1161\u11ab\uae00",                 # conjoining jamo compose to U+D55C
    "q\u0307\u0323 \u1e0b\u0323",               # canonical reordering of combining marks
    "\ufb01ne \u2460\u00b2 \uff26\uff35\uff2c\uff2c \u01c5",  # compatibility forms (NFKC/NFKD differ)
    "\u1e9b\u0323",
    "\u03a3\u0391\u03a3 \u0130stanbul \u1e9e",   # lowercase without final-sigma context; U+0130; capital sharp s
    "  \u3000padded\u2003 \t",                  # Strip uses White_Space
    "na\u00efve co\u00f6perate \u0915\u093f \u0e01\u0e34",  # marks, incl. spacing marks
    "<|endoftext|>e\u0301<|padding|>",          # special tokens are split out before normalizing
    "He\u0301LLO <|endoftext|>HELLO hello",
    "",
    "plain ascii text",
]

# Normalizers real checkpoints use, alone and in sequences (nested included).
VARIANTS = [
    ("nfd", {"type": "NFD"}, []),
    ("nfkc", {"type": "NFKC"}, []),
    ("nfkd", {"type": "NFKD"}, []),
    ("lowercase", {"type": "Lowercase"}, []),
    ("strip_accents_after_nfd", {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "StripAccents"}]}, []),
    ("strip_both", {"type": "Strip", "strip_left": True, "strip_right": True}, []),
    ("strip_left", {"type": "Strip", "strip_left": True, "strip_right": False}, []),
    # Llama's normalizer: a normalized added token is matched as its normalized content ("▁" + content).
    ("prepend_replace", {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
     [{"id": 301, "content": "HELLO", "single_word": False, "lstrip": False, "rstrip": False,
       "normalized": True, "special": False}]),
    # A normalized added token is matched after lowercasing; the special one before.
    ("nested_lowercase_nfkc", {"type": "Sequence", "normalizers": [
        {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
        {"type": "Replace", "pattern": {"String": "ll"}, "content": "L"}]},
     [{"id": 301, "content": "HeLLo", "single_word": False, "lstrip": False, "rstrip": False,
       "normalized": True, "special": False}]),
]


def main():
    out = {"reference": f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}; "
                        "made by make_normalizer_goldens.py"}
    fast = AutoTokenizer.from_pretrained(NEOX)
    assert type(fast).__name__ == "GPTNeoXTokenizerFast"
    rows = []
    for text in TEXTS:
        ids = fast(text)["input_ids"]
        rows.append({"text": text, "ids": ids,
                     "ids_no_special": fast(text, add_special_tokens=False)["input_ids"],
                     "decoded": fast.decode(ids),
                     "decoded_skip_special": fast.decode(ids, skip_special_tokens=True)})
    out["gpt_neox"] = rows

    base = json.load(open(os.path.join(NEOX, "tokenizer.json"), encoding="utf-8"))
    variants = []
    for name, normalizer, added in VARIANTS:
        spec = dict(base, normalizer=normalizer, added_tokens=base["added_tokens"] + added)
        tok = Tokenizer.from_str(json.dumps(spec))
        cases = [{"text": t, "normalized": tok.normalizer.normalize_str(t), "ids": tok.encode(t).ids} for t in TEXTS]
        variants.append({"name": name, "normalizer": normalizer, "added_tokens": added, "cases": cases})
    out["variants"] = variants

    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
