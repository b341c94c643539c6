#!/usr/bin/env python3
"""Goldens for the Llama-shaped families added after wave 1: Qwen2, Mistral and Gemma (transformers
4.40.2, like make_goldens.py) and Phi-3 (which 4.40.2 lacks: transformers 4.44.2). Same recipe and
golden format as make_goldens.py, whose helpers it imports; each run writes only the models of the
transformers release it runs under.

Set-up, once (4.44.2 still runs on Debian's torch 1.13):
    /usr/bin/python3 -m venv --system-site-packages .venv      && .venv/bin/pip install transformers==4.40.2
    /usr/bin/python3 -m venv --system-site-packages .venv-tf444 && .venv-tf444/bin/pip install transformers==4.44.2
Regenerate (after make_goldens.py; output is byte-identical run to run):
    TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 .venv/bin/python tests/golden/make_goldens_families.py
    TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 .venv-tf444/bin/python tests/golden/make_goldens_families.py
"""
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, GenerationConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_goldens as base  # noqa: E402


def families_440():
    from transformers import (GemmaConfig, GemmaForCausalLM, MistralConfig, MistralForCausalLM,
                              Qwen2Config, Qwen2ForCausalLM)
    return {
        # name -> (model class, config, tokenizer, what it exercises)
        "qwen2": (Qwen2ForCausalLM, Qwen2Config(
            vocab_size=317, hidden_size=40, intermediate_size=76, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=160, rms_norm_eps=1e-6, rope_theta=1000000.0,
            tie_word_embeddings=False, use_sliding_window=False, sliding_window=160,
            bos_token_id=316, eos_token_id=316),
            "bytelevel_gpt2", "biases on q/k/v (none on o_proj), GQA 4/2, rope_theta 1e6, untied head"),
        "qwen2_tied": (Qwen2ForCausalLM, Qwen2Config(
            vocab_size=317, hidden_size=36, intermediate_size=100, num_hidden_layers=2, num_attention_heads=3,
            num_key_value_heads=1, max_position_embeddings=160, rms_norm_eps=1e-6, rope_theta=10000.0,
            tie_word_embeddings=True, use_sliding_window=False, sliding_window=160,
            bos_token_id=316, eos_token_id=316),
            "bytelevel_gpt2", "q/k/v biases with multi-query attention and a tied head"),
        "mistral": (MistralForCausalLM, MistralConfig(
            vocab_size=347, hidden_size=40, intermediate_size=76, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=160, rms_norm_eps=1e-5, rope_theta=10000.0,
            sliding_window=24, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=None),
            "sentencepiece_llama", "sliding-window attention (24: the 40- and 100-id prompts and their "
                                   "decode steps reach past it), GQA 4/2"),
        "gemma": (GemmaForCausalLM, GemmaConfig(
            vocab_size=347, hidden_size=40, intermediate_size=76, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=1, head_dim=16, max_position_embeddings=160, rms_norm_eps=1e-6,
            rope_theta=10000.0, hidden_act="gelu_pytorch_tanh", hidden_activation=None,
            tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=0),
            "sentencepiece_llama", "head_dim 16 from the config (q is 64 wide on a 40-wide model), GeGLU "
                                   "(tanh GELU), RMSNorm by (1 + w), embedding scaled by sqrt(40), tied head, MQA"),
    }


def families_444():
    from transformers import Phi3Config, Phi3ForCausalLM
    return {
        "phi3": (Phi3ForCausalLM, Phi3Config(
            vocab_size=347, hidden_size=40, intermediate_size=76, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=160, original_max_position_embeddings=160,
            rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling=None, sliding_window=None,
            tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=None,
            resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0),
            "sentencepiece_llama", "fused qkv_proj [q | k | v] and gate_up_proj [gate | up], GQA 4/2"),
    }


BY_RELEASE = {"4.40.2": (families_440, 7000), "4.44.2": (families_444, 7500)}


def main():
    version = transformers.__version__
    if version not in BY_RELEASE:
        sys.exit(f"error: transformers {version} found; this script runs under 4.40.2 or 4.44.2 "
                 f"(see the set-up in its docstring).")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    data = Path(__file__).resolve().parents[2] / "tests" / "data"
    models_dir, golden_dir = data / "models", data / "golden"
    make_families, seed0 = BY_RELEASE[version]
    families = make_families()
    for name in families:
        for stale in golden_dir.glob(f"{name}.*"):
            stale.unlink()

    toks = base.build_tokenizers()
    for index, (name, (cls, config, tname, _)) in enumerate(families.items()):
        fast = toks[tname][0]
        assert len(fast) == config.vocab_size, f"{name}: tokenizer {len(fast)} != vocab {config.vocab_size}"
        model = base.build_model(cls, config, seed=seed0 + 10 * index)
        model.generation_config = GenerationConfig(bos_token_id=config.bos_token_id,
                                                   eos_token_id=config.eos_token_id,
                                                   pad_token_id=config.pad_token_id)
        base.save_hf_folder(model, fast, models_dir / name)
        if version != base.EXPECTED_TRANSFORMERS:
            # Newer releases write one more key into tokenizer_config.json; the tokenizer is the one
            # the first folder of that tokenizer holds (checked by the tokenizer goldens), so those
            # exact files are used.
            source = {"sentencepiece_llama": "llama", "bytelevel_gpt2": "gpt2"}[tname]
            for file in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
                shutil.copyfile(models_dir / source / file, models_dir / name / file)
        golden = base.decoder_goldens(name, model, fast, golden_dir, seed0 + 100 + index)
        base.write_json(golden_dir / f"{name}.json", golden)
        print(f"{name}: {sum(p.numel() for p in model.parameters())} params")

        # Reloaded the way a user would, the folder must reproduce the goldens.
        reloaded = AutoModelForCausalLM.from_pretrained(models_dir / name, attn_implementation="eager").eval()
        for case in golden["cases"]:
            want = np.load(golden_dir / case["prefill_logits"])
            np.testing.assert_array_equal(base.prefill_logits(reloaded, case["prompt_ids"]), want)
    print("reloaded with AutoModelForCausalLM: goldens reproduced")


if __name__ == "__main__":
    main()
