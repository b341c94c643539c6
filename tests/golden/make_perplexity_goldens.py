#!/usr/bin/env python3
"""Perplexity over tests/data/perplexity/genesis1.txt as transformers computes it, windowed the way
`vkinfer perplexity` and llama.cpp's llama-perplexity window a text, for two models:

  assets/gpt2-kjv          the bundled KJV GPT-2 (fp16 checkpoint, run in fp32), windows of 64 and
                           128; GPT-2's tokenizer adds no BOS.
  tests/data/models/llama  the tiny random Llama of make_goldens.py (fp32 weights), 3 windows of 64;
                           its tokenizer adds BOS, so this case checks the BOS handling.

  ids      the whole file through the HF tokenizer with add_special_tokens=False, with BOS in front
           when the tokenizer adds one (tokenizer("a") starts with bos_token_id).
  windows  non-overlapping, N ids each, the short tail dropped; with BOS, each window's first id is
           replaced by BOS. Each window is one forward from an empty cache (fp32, eager attention,
           CPU, one thread).
  scoring  the logits at positions F = N // 2 .. N - 2 score the ids at F + 1 .. N - 1 (N - 1 - F
           per window): nll = -log_softmax(logits)[next id], accumulated in float64.
  result   mean NLL, PPL = exp(mean NLL), and llama-perplexity's error PPL * sqrt(var / (n - 1)) with
           var the population variance of the NLL values.

The text's ids are recorded too, so a tokenizer difference shows up as such rather than as a PPL
mismatch.

Regenerate (byte-identical run to run):
    /work/main/.venv/bin/python tests/golden/make_perplexity_goldens.py
"""
import json
import math
import os
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parents[2]
TEXT = ROOT / "tests" / "data" / "perplexity" / "genesis1.txt"
OUT = ROOT / "tests" / "data" / "golden" / "perplexity.json"
# model folder (relative to the repo) -> [(ctx, chunks)]; chunks 0 = every whole window
MODELS = [("assets/gpt2-kjv", [(64, 0), (128, 0)]), ("tests/data/models/llama", [(64, 3)])]


def perplexity(model, ids, ctx, chunks, bos):
    count = len(ids) // ctx
    if chunks:
        count = min(count, chunks)
    first = ctx // 2
    nll = []
    for w in range(count):
        window = list(ids[w * ctx:(w + 1) * ctx])
        if bos >= 0:
            window[0] = bos
        window = torch.tensor([window])
        with torch.no_grad():
            logits = model(window).logits[0].double()
        log_probs = torch.log_softmax(logits, dim=-1)
        for p in range(first, ctx - 1):
            nll.append(-log_probs[p, ids[w * ctx + p + 1]].item())  # p + 1 >= 1: never the BOS
    nll = np.array(nll, dtype=np.float64)
    mean = float(nll.mean())
    var = float((nll * nll).mean() - mean * mean)
    ppl = math.exp(mean)
    return {
        "ctx": ctx,
        "chunks": chunks,
        "windows": count,
        "first_scored_position": first,
        "tokens_scored": int(nll.size),
        "mean_nll": mean,
        "ppl": ppl,
        "ppl_error": ppl * math.sqrt(var / (nll.size - 1)),
    }


def run_model(folder):
    path = ROOT / folder
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    probe = tokenizer("a")["input_ids"]
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None and probe[0] == tokenizer.bos_token_id else -1
    ids = tokenizer(TEXT.read_text(encoding="utf-8"), add_special_tokens=False)["input_ids"]
    if bos >= 0:
        ids = [bos] + ids
    return {
        "model": folder,
        "bos": bos,
        "text_tokens": len(ids),
        "ids": ids,
        "cases": [perplexity(model, ids, ctx, chunks, bos) for ctx, chunks in dict(MODELS)[folder]],
    }


def main():
    assert transformers.__version__ == "4.40.2", transformers.__version__
    torch.set_num_threads(1)
    torch.manual_seed(0)
    golden = {
        "input": "tests/data/perplexity/genesis1.txt",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "models": [run_model(folder) for folder, _ in MODELS],
    }
    OUT.write_text(json.dumps(golden, indent=1) + "\n")
    for entry in golden["models"]:
        for case in entry["cases"]:
            print(f"{entry['model']} ctx {case['ctx']}: {case['windows']} windows, {case['tokens_scored']} tokens, "
                  f"PPL {case['ppl']:.6f} +/- {case['ppl_error']:.6f}")


if __name__ == "__main__":
    main()
