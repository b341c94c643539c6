#!/usr/bin/env python3
"""Goldens for Llama 3.1's rope_scaling ("llama3"), which transformers added in 4.43, after the
4.40.2 that make_goldens.py is pinned to. Same recipe and golden format as make_goldens.py, whose
helpers it imports; only the transformers release differs.

Set-up, once (4.44.2 still runs on Debian's torch 1.13):
    /usr/bin/python3 -m venv --system-site-packages .venv-tf444
    .venv-tf444/bin/pip install transformers==4.44.2
Regenerate (after make_goldens.py; output is byte-identical run to run):
    TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 .venv-tf444/bin/python tests/golden/make_goldens_llama3.py
"""
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, GenerationConfig, LlamaConfig, LlamaForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_goldens as base  # noqa: E402

EXPECTED_TRANSFORMERS = "4.44.2"
NAME = "llama3_rope"
# head_dim 32 gives 16 frequencies; with theta 5e5 and an original context of 128, the two
# highest keep their value (wavelength < 128 / 4), the next two are blended and the other
# twelve are divided by 8 (wavelength > 128 / 1): every band of the scaling is used.
CONFIG = LlamaConfig(
    vocab_size=347, hidden_size=64, intermediate_size=76, num_hidden_layers=2, num_attention_heads=2,
    num_key_value_heads=1, max_position_embeddings=160, rms_norm_eps=1e-5, rope_theta=500000.0,
    rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 128},
    tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=None)


def main():
    if transformers.__version__ != EXPECTED_TRANSFORMERS:
        sys.exit(f"error: transformers {transformers.__version__} found; these goldens need "
                 f"{EXPECTED_TRANSFORMERS} (see the set-up in this file's docstring).")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    data = Path(__file__).resolve().parents[2] / "tests" / "data"
    models_dir, golden_dir = data / "models", data / "golden"
    for stale in golden_dir.glob(f"{NAME}.*"):
        stale.unlink()

    fast = base.build_tokenizers()["sentencepiece_llama"][0]
    assert len(fast) == CONFIG.vocab_size
    model = base.build_model(LlamaForCausalLM, CONFIG, seed=1900)
    model.generation_config = GenerationConfig(bos_token_id=CONFIG.bos_token_id,
                                               eos_token_id=CONFIG.eos_token_id,
                                               pad_token_id=CONFIG.pad_token_id)
    base.save_hf_folder(model, fast, models_dir / NAME)
    # 4.44 writes one more key into tokenizer_config.json; the tokenizer is the one the `llama`
    # folder holds, whose files the tokenizer goldens check, so those exact files are used.
    for file in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copyfile(models_dir / "llama" / file, models_dir / NAME / file)
    golden = base.decoder_goldens(NAME, model, fast, golden_dir, 2900)
    base.write_json(golden_dir / f"{NAME}.json", golden)
    print(f"{NAME}: {sum(p.numel() for p in model.parameters())} params")

    # Reloaded the way a user would, the folder must reproduce the goldens.
    reloaded = AutoModelForCausalLM.from_pretrained(models_dir / NAME, attn_implementation="eager").eval()
    for case in golden["cases"]:
        want = np.load(golden_dir / case["prefill_logits"])
        np.testing.assert_array_equal(base.prefill_logits(reloaded, case["prompt_ids"]), want)
    print("reloaded with AutoModelForCausalLM: goldens reproduced")


if __name__ == "__main__":
    main()
