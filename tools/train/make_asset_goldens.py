#!/usr/bin/env python3
"""Writes the transformers goldens for the bundled KJV models in assets/.

vkinfer's end-to-end check on the shipped models compares against these: the checkpoints
are stored in fp16 but loaded here with torch_dtype=float32 (an exact upcast), which is
what the engine's fp32 path computes. Outputs (paths relative to tests/data):
  golden/assets_gpt2.json + golden/assets_gpt2.logits.npy  (prompt ids, 32 greedy new
      tokens, the prefill logits [prompt_len, vocab] float32)
  golden/assets_bert.json  (pairs, their input_ids / token_type_ids / logits)
The formats follow tests/golden/make_goldens.py (gpt2.json / bert.json).

Regenerate (CPU, fp32, eager attention, single thread):
  TOKENIZERS_PARALLELISM=false .venv/bin/python tools/train/make_asset_goldens.py
"""
import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
import transformers
from transformers import (AutoModelForCausalLM, AutoModelForSequenceClassification,
                          AutoTokenizer)

REPO = Path(__file__).resolve().parents[2]
TEST_DATA = REPO / "tests" / "data"
GOLDEN = TEST_DATA / "golden"
GPT2_DIR = REPO / "assets" / "gpt2-kjv"
BERT_DIR = REPO / "assets" / "bert-kjv-nsp"
DEFAULT_PROMPT = "And God said"
NEW_TOKENS = 32
# The first pair is the README's default: a true next verse (Psalm 23:1 -> 23:2, in the
# training split); the others are held-out test-split pairs, both labels, and one pair long
# enough to be truncated at 128 tokens.
PAIRS = [
    ("The LORD is my shepherd; I shall not want.",
     "He maketh me to lie down in green pastures: he leadeth me beside the still waters."),
    ("The LORD is my shepherd; I shall not want.",
     "And the children of Israel did evil again in the sight of the LORD."),
]


def greedy_with_margin(model, ids, new_tokens):
    """Greedy decode ignoring EOS (so all 32 tokens are compared), also returning the
    smallest top-1/top-2 logit gap: a tiny gap is where fp rounding could flip a token."""
    ids = ids.clone()
    out, margin = [], float("inf")
    with torch.no_grad():
        for _ in range(new_tokens):
            logits = model(ids).logits[0, -1]
            top2 = torch.topk(logits, 2).values
            margin = min(margin, (top2[0] - top2[1]).item())
            nxt = int(logits.argmax())
            out.append(nxt)
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    return out, margin


def make_gpt2():
    tok = AutoTokenizer.from_pretrained(GPT2_DIR)
    model = AutoModelForCausalLM.from_pretrained(GPT2_DIR, torch_dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    ids = tok(DEFAULT_PROMPT, return_tensors="pt").input_ids
    with torch.no_grad():
        prefill = model(ids).logits[0].float().numpy()
    greedy, margin = greedy_with_margin(model, ids, NEW_TOKENS)
    # Cross-check the hand loop against HF's own generate (EOS ignored the same way).
    with torch.no_grad():
        hf = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False,
                            eos_token_id=None, pad_token_id=tok.eos_token_id)
    assert hf[0, ids.shape[1]:].tolist() == greedy, "hand greedy loop disagrees with generate()"
    np.save(GOLDEN / "assets_gpt2.logits.npy", prefill.astype(np.float32))
    golden = {
        "model": "gpt2-kjv", "folder": "../../assets/gpt2-kjv",
        "architecture": "GPT2LMHeadModel",
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
        "dtype": "float32 (fp16 checkpoint upcast with torch_dtype=float32)",
        "attn_implementation": "eager", "new_tokens": NEW_TOKENS, "eos_ignored": True,
        "note": "folder is relative to tests/data; greedy_ids are the new tokens only; "
                "generation ignored EOS (eos_token_id=None)",
        "prompt_text": DEFAULT_PROMPT, "prompt_ids": ids[0].tolist(), "greedy_ids": greedy,
        "greedy_text": tok.decode(greedy), "full_text": tok.decode(ids[0].tolist() + greedy),
        "eos_in_greedy": tok.eos_token_id in greedy, "min_greedy_margin": margin,
        "prefill_logits": "assets_gpt2.logits.npy", "prefill_logits_shape": list(prefill.shape),
    }
    with open(GOLDEN / "assets_gpt2.json", "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(repr(golden["full_text"]), "margin", margin)


def test_split_pairs(n_each=2):
    rows = (BERT_DIR / "test_split.tsv").read_text().splitlines()[1:]
    rows = [r.split("\t") for r in rows]
    pos = [r[:2] for r in rows if r[2] == "1"][:n_each]
    neg = [r[:2] for r in rows if r[2] == "0"][:n_each]
    longest = max(rows, key=lambda r: len(r[0]) + len(r[1]))[:2]
    return [tuple(p) for p in pos + neg + [longest]]


def make_bert():
    tok = AutoTokenizer.from_pretrained(BERT_DIR)
    model = AutoModelForSequenceClassification.from_pretrained(
        BERT_DIR, torch_dtype=torch.float32, attn_implementation="eager").eval()
    cases = []
    for text, pair in PAIRS + test_split_pairs():
        enc = tok(text, pair, truncation=True, max_length=128, return_tensors="pt")
        with torch.no_grad():
            logits = model(input_ids=enc.input_ids, token_type_ids=enc.token_type_ids).logits[0]
        cases.append({"text": text, "text_pair": pair,
                      "input_ids": enc.input_ids[0].tolist(),
                      "token_type_ids": enc.token_type_ids[0].tolist(),
                      "logits": logits.tolist(),
                      "predicted_label": model.config.id2label[int(logits.argmax())]})
    golden = {
        "model": "bert-kjv-nsp", "folder": "../../assets/bert-kjv-nsp",
        "architecture": "BertForSequenceClassification",
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
        "dtype": "float32 (fp16 checkpoint upcast with torch_dtype=float32)",
        "attn_implementation": "eager",
        "id2label": {str(k): v for k, v in model.config.id2label.items()},
        "note": "folder is relative to tests/data; single pairs run without attention_mask "
                "(no padding); truncation longest_first at 128 tokens",
        "cases": cases,
    }
    with open(GOLDEN / "assets_bert.json", "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    for c in cases:
        print(c["predicted_label"], [round(x, 3) for x in c["logits"]], c["text"][:40], "|",
              c["text_pair"][:40])


def main():
    parser = argparse.ArgumentParser(description="transformers goldens for assets/")
    parser.add_argument("--models", nargs="+", choices=["gpt2", "bert"], default=["gpt2", "bert"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    if "gpt2" in args.models:
        make_gpt2()
    if "bert" in args.models:
        make_bert()


if __name__ == "__main__":
    main()
