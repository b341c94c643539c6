"""Generates the config fixtures for tests/config_test.cpp.

For each case this builds a tiny model with transformers (the version in
/work/main/.venv, 4.40.2), saves its config.json exactly as save_pretrained
writes it, and writes expected.json: what the *model* was built with, read off
the instantiated modules (bias presence, rotary width, norms, tying...), so
the C++ parser is checked against what transformers actually constructs, not
against our reading of the config classes.

Run: /work/main/.venv/bin/python tests/data/config/make_configs.py
"""
import json
import os
import shutil

import torch
import transformers
from transformers import (BertConfig, BertForSequenceClassification, GPT2Config, GPT2LMHeadModel,
                          GPTJConfig, GPTJForCausalLM, GPTNeoXConfig, GPTNeoXForCausalLM,
                          LlamaConfig, LlamaForCausalLM, OPTConfig, OPTForCausalLM)
from transformers import activations

HERE = os.path.dirname(os.path.abspath(__file__))


def activation_name(module):
    kinds = {
        activations.GELUActivation: "gelu_erf",
        activations.NewGELUActivation: "gelu_tanh",
        activations.PytorchGELUTanh: "gelu_tanh",
        activations.FastGELUActivation: "gelu_tanh",
        torch.nn.ReLU: "relu",
        torch.nn.SiLU: "silu",
    }
    return kinds[type(module)]


def has_bias(linear):
    return linear.bias is not None


def tied(model):
    return model.get_output_embeddings().weight.data_ptr() == \
        model.get_input_embeddings().weight.data_ptr()


def eos_list(config):
    eos = config.eos_token_id
    if eos is None:
        return []
    return list(eos) if isinstance(eos, (list, tuple)) else [eos]


def none_is_minus_one(value):
    return -1 if value is None else value


def decoder_common(config, model):
    return {
        "vocab_size": model.get_input_embeddings().num_embeddings,
        "num_layers": config.num_hidden_layers,
        "tie_word_embeddings": tied(model),
        "bos_token_id": none_is_minus_one(config.bos_token_id),
        "eos_token_ids": eos_list(config),
        "pad_token_id": none_is_minus_one(config.pad_token_id),
    }


def expect_gpt2(config, model):
    block = model.transformer.h[0]
    return dict(decoder_common(config, model), **{
        "arch": "gpt2", "hidden_size": config.n_embd, "num_heads": block.attn.num_heads,
        "num_kv_heads": block.attn.num_heads, "head_dim": block.attn.head_dim,
        "intermediate_size": block.mlp.c_fc.weight.shape[1],  # Conv1D is [in, out]
        "max_positions": model.transformer.wpe.num_embeddings, "norm": "layer",
        "norm_eps": model.transformer.ln_f.eps, "activation": activation_name(block.mlp.act),
        "gated_mlp": False, "rotary": "none", "rotary_dim": 0, "rope_theta": 0.0,
        "learned_positions": True, "position_offset": 0, "parallel_residual": False,
        "pre_norm": True, "final_norm": True, "word_embed_proj_dim": 0,
        "qkv_bias": has_bias(block.attn.c_attn), "attn_out_bias": has_bias(block.attn.c_proj),
        "mlp_bias": has_bias(block.mlp.c_fc), "lm_head_bias": has_bias(model.lm_head),
    })


def expect_opt(config, model):
    decoder = model.model.decoder
    layer = decoder.layers[0]
    proj = decoder.embed_tokens.embedding_dim if decoder.project_in is not None else 0
    return dict(decoder_common(config, model), **{
        "arch": "opt", "hidden_size": config.hidden_size, "num_heads": layer.self_attn.num_heads,
        "num_kv_heads": layer.self_attn.num_heads, "head_dim": layer.self_attn.head_dim,
        "intermediate_size": layer.fc1.out_features,
        "max_positions": decoder.embed_positions.num_embeddings - decoder.embed_positions.offset,
        "norm": "layer", "norm_eps": layer.final_layer_norm.eps,
        "activation": activation_name(layer.activation_fn), "gated_mlp": False,
        "rotary": "none", "rotary_dim": 0, "rope_theta": 0.0, "learned_positions": True,
        "position_offset": decoder.embed_positions.offset, "parallel_residual": False,
        "pre_norm": layer.do_layer_norm_before, "final_norm": decoder.final_layer_norm is not None,
        "word_embed_proj_dim": proj,
        "qkv_bias": has_bias(layer.self_attn.q_proj), "attn_out_bias": has_bias(layer.self_attn.out_proj),
        "mlp_bias": has_bias(layer.fc1), "lm_head_bias": has_bias(model.lm_head),
    })


def expect_gptj(config, model):
    block = model.transformer.h[0]
    return dict(decoder_common(config, model), **{
        "arch": "gptj", "hidden_size": config.n_embd, "num_heads": block.attn.num_attention_heads,
        "num_kv_heads": block.attn.num_attention_heads, "head_dim": block.attn.head_dim,
        "intermediate_size": block.mlp.fc_in.out_features, "max_positions": config.n_positions,
        "norm": "layer", "norm_eps": block.ln_1.eps, "activation": activation_name(block.mlp.act),
        "gated_mlp": False, "rotary": "interleaved", "rotary_dim": block.attn.rotary_dim,
        "rope_theta": 10000.0, "learned_positions": False, "position_offset": 0,
        "parallel_residual": True, "pre_norm": True, "final_norm": True, "word_embed_proj_dim": 0,
        "qkv_bias": has_bias(block.attn.q_proj), "attn_out_bias": has_bias(block.attn.out_proj),
        "mlp_bias": has_bias(block.mlp.fc_in), "lm_head_bias": has_bias(model.lm_head),
    })


def expect_neox(config, model):
    layer = model.gpt_neox.layers[0]
    return dict(decoder_common(config, model), **{
        "arch": "gpt_neox", "hidden_size": config.hidden_size,
        "num_heads": layer.attention.num_attention_heads,
        "num_kv_heads": layer.attention.num_attention_heads, "head_dim": layer.attention.head_size,
        "intermediate_size": layer.mlp.dense_h_to_4h.out_features,
        "max_positions": config.max_position_embeddings, "norm": "layer",
        "norm_eps": layer.input_layernorm.eps, "activation": activation_name(layer.mlp.act),
        "gated_mlp": False, "rotary": "half", "rotary_dim": layer.attention.rotary_ndims,
        "rope_theta": float(layer.attention.rotary_emb.base), "learned_positions": False,
        "position_offset": 0, "parallel_residual": layer.use_parallel_residual,
        "pre_norm": True, "final_norm": True, "word_embed_proj_dim": 0,
        "qkv_bias": has_bias(layer.attention.query_key_value),
        "attn_out_bias": has_bias(layer.attention.dense),
        "mlp_bias": has_bias(layer.mlp.dense_h_to_4h), "lm_head_bias": has_bias(model.embed_out),
    })


def expect_llama(config, model):
    layer = model.model.layers[0]
    return dict(decoder_common(config, model), **{
        "arch": "llama", "hidden_size": config.hidden_size, "num_heads": layer.self_attn.num_heads,
        "num_kv_heads": layer.self_attn.num_key_value_heads, "head_dim": layer.self_attn.head_dim,
        "intermediate_size": layer.mlp.up_proj.out_features,
        "max_positions": config.max_position_embeddings, "norm": "rms",
        "norm_eps": layer.input_layernorm.variance_epsilon,
        "activation": activation_name(layer.mlp.act_fn), "gated_mlp": True, "rotary": "half",
        "rotary_dim": layer.self_attn.rotary_emb.dim,
        "rope_theta": float(layer.self_attn.rotary_emb.base), "learned_positions": False,
        "position_offset": 0, "parallel_residual": False, "pre_norm": True, "final_norm": True,
        "word_embed_proj_dim": 0, "qkv_bias": has_bias(layer.self_attn.q_proj),
        "attn_out_bias": has_bias(layer.self_attn.o_proj), "mlp_bias": has_bias(layer.mlp.up_proj),
        "lm_head_bias": has_bias(model.lm_head),
    })


def expect_bert(config, model):
    layer = model.bert.encoder.layer[0]
    return {
        "arch": "bert", "vocab_size": model.bert.embeddings.word_embeddings.num_embeddings,
        "hidden_size": config.hidden_size, "num_layers": len(model.bert.encoder.layer),
        "num_heads": layer.attention.self.num_attention_heads,
        "intermediate_size": layer.intermediate.dense.out_features,
        "max_position_embeddings": model.bert.embeddings.position_embeddings.num_embeddings,
        "type_vocab_size": model.bert.embeddings.token_type_embeddings.num_embeddings,
        "layer_norm_eps": model.bert.embeddings.LayerNorm.eps,
        "hidden_act": activation_name(layer.intermediate.intermediate_act_fn),
        "num_labels": model.classifier.out_features,
        "id2label": [config.id2label[i] for i in range(config.num_labels)],
        "pad_token_id": none_is_minus_one(config.pad_token_id),
    }


TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4)
GPT_TINY = dict(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
CASES = {
    "gpt2_tiny": (GPT2Config(**GPT_TINY, bos_token_id=98, eos_token_id=98), GPT2LMHeadModel, expect_gpt2),
    "gpt2_relu_untied": (GPT2Config(**GPT_TINY, n_inner=48, activation_function="relu",
                                    layer_norm_epsilon=1e-6, tie_word_embeddings=False,
                                    bos_token_id=1, eos_token_id=2, pad_token_id=0),
                         GPT2LMHeadModel, expect_gpt2),
    "opt_tiny": (OPTConfig(**TINY, ffn_dim=64, max_position_embeddings=64), OPTForCausalLM, expect_opt),
    "opt_350m_style": (OPTConfig(**TINY, ffn_dim=64, max_position_embeddings=64,
                                 do_layer_norm_before=False, word_embed_proj_dim=16),
                       OPTForCausalLM, expect_opt),
    "opt_nobias_nofinal": (OPTConfig(**TINY, ffn_dim=64, max_position_embeddings=64, enable_bias=False,
                                     _remove_final_layer_norm=True, activation_function="gelu"),
                           OPTForCausalLM, expect_opt),
    "gptj_tiny": (GPTJConfig(**GPT_TINY, rotary_dim=4, bos_token_id=0, eos_token_id=0), GPTJForCausalLM, expect_gptj),
    "gpt_neox_tiny": (GPTNeoXConfig(**TINY, intermediate_size=64, max_position_embeddings=64),
                      GPTNeoXForCausalLM, expect_neox),
    "gpt_neox_sequential": (GPTNeoXConfig(**TINY, intermediate_size=64, max_position_embeddings=64,
                                          use_parallel_residual=False, attention_bias=False,
                                          rotary_pct=0.3, rotary_emb_base=5000,
                                          hidden_act="gelu_new", tie_word_embeddings=True),
                            GPTNeoXForCausalLM, expect_neox),
    "llama_gqa": (LlamaConfig(**TINY, intermediate_size=64, num_key_value_heads=2,
                              max_position_embeddings=64, rope_theta=50000.0, rms_norm_eps=1e-5),
                  LlamaForCausalLM, expect_llama),
    "llama_bias_tied": (LlamaConfig(**TINY, intermediate_size=64, max_position_embeddings=64,
                                    attention_bias=True, tie_word_embeddings=True,
                                    eos_token_id=[2, 3], pad_token_id=0),
                        LlamaForCausalLM, expect_llama),
    "bert_tiny": (BertConfig(**TINY, intermediate_size=37, max_position_embeddings=64,
                             id2label={0: "NEG", 1: "NEU", 2: "POS"}),
                  BertForSequenceClassification, expect_bert),
    "bert_default_labels": (BertConfig(**TINY, intermediate_size=64, hidden_act="relu",
                                       layer_norm_eps=1e-5, type_vocab_size=1),
                            BertForSequenceClassification, expect_bert),
}


def main():
    assert transformers.__version__ == "4.40.2", transformers.__version__
    torch.manual_seed(0)
    for name, (config, model_class, expect) in CASES.items():
        folder = os.path.join(HERE, name)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        config.save_pretrained(folder)
        model = model_class(config).eval()
        with open(os.path.join(folder, "expected.json"), "w") as f:
            json.dump(expect(config, model), f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
