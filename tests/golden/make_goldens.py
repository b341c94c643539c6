#!/usr/bin/env python3
"""Builds the tiny random Hugging Face models and the reference outputs that vkinfer is tested against.

Correctness in vkinfer means "agrees with transformers", so every expected value the C++ tests use
comes from here: HF folders (config.json, model.safetensors, generation_config.json, tokenizer files)
under tests/data/models/<name>/ and goldens under tests/data/golden/. The models are tiny and their
sizes odd so that tile-size assumptions break loudly, and every parameter (norm gains and biases
included) carries visible noise so that a forgotten bias or gain changes the logits.

Regenerate (CPU, fp32, eager attention, single thread; output is byte-identical run to run):
    TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 /work/main/.venv/bin/python tests/golden/make_goldens.py
"""
import argparse
import collections
import contextlib
import copy
import json
import os
import shutil
import sys
from pathlib import Path

# Trainers in `tokenizers` use rayon; one thread keeps merge tie-breaking out of scheduling's hands.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("RAYON_RS_NUM_CPUS", "1")

import numpy as np
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer,
                          BertConfig, BertForSequenceClassification, BertTokenizer, BertTokenizerFast,
                          GenerationConfig, GPT2Config, GPT2LMHeadModel, GPT2Tokenizer, GPT2TokenizerFast,
                          GPTJConfig, GPTJForCausalLM, GPTNeoXConfig, GPTNeoXForCausalLM,
                          GPTNeoXTokenizerFast, LlamaConfig, LlamaForCausalLM, LlamaTokenizerFast, OPTConfig,
                          OPTForCausalLM)

EXPECTED_TRANSFORMERS = "4.40.2"
NEW_TOKENS = 32
DECODER_PROMPT_LENGTHS = (5, 40, 100)
BATCH_PROMPT_LENGTHS = (7, 23, 13)
# Greedy goldens must be exactly matched by the engine, whose fp32 logits differ from torch's by
# ~1e-5 (summation order). A step whose top-2 logits are closer than this could flip on rounding
# alone, so such prompts are redrawn and the smallest margin is recorded for the tests to see.
MIN_GREEDY_MARGIN = 2e-3
# Weights: 0.25 rather than ~0.1 because the greedy continuations of smaller-weight models collapse
# into one repeated token, which would let a broken KV cache pass; logits still spread over a few units.
WEIGHT_STD = 0.25
GAIN_STD = 0.15    # norm gains are 1 +- this, so a missing gain multiply is visible
BIAS_STD = 0.1     # every bias is non-zero, so a missing bias add is visible


# ----------------------------------------------------------------------------------------------
# Text: tokenizer training data, prompts and the tricky-string corpus
# ----------------------------------------------------------------------------------------------

TRAINING_TEXT = [
    "The quick brown fox jumps over the lazy dog. The dog did not mind; it was asleep in the sun.",
    "In the beginning there was a small model, and the small model was tested against a larger truth.",
    "We measure correctness against the reference implementation, never against our own assumptions.",
    "A tokenizer turns text into numbers, and the numbers into text again. Numbers like 12, 345 and 6789 "
    "appear in the text, as do dates such as 2024-05-17 and times like 10:45.",
    "She said: \"I'm sure we'll finish today, aren't you?\" He replied, \"Don't count on it; they've "
    "changed the plan twice.\"",
    "Caf\u00e9 cr\u00e8me, na\u00efve r\u00e9sum\u00e9, \u00fcber stra\u00dfe, se\u00f1or pi\u00f1ata. "
    "Accents are common in borrowed words.",
    "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3068\u4e2d\u6587\u7684\u53e5\u5b50\u3002 "
    "\u6a21\u578b\u5f88\u5c0f\u3002 \u30c6\u30b9\u30c8\u3067\u3059\u3002",
    "def forward(self, x):\n    return self.linear(x) + self.bias  # residual\n",
    "The weather was cold, the river was quiet, and the lights of the town were warm and yellow.",
    "Transformers attend to every previous token; the cache keeps the keys and values of the past.",
    "the the the and and of of to to in in is is it it that that was was for for on on with with",
    "Testing, testing: one, two, three. Is this thing on? Yes, it is on, and it is working well.",
]

DECODER_TEXT_PROMPTS = [
    "The quick brown fox",
    "In the beginning there was",
    "We measure correctness against",
    "The weather was cold, and",
]

BERT_PAIRS = [
    ("The weather was cold, the river was quiet.", None),
    ("Is this thing on?", "Yes, it is on, and it is working well."),
]

BERT_LONG_TEXT = (
    "We measure correctness against the reference implementation, never against our own assumptions. "
    "A tokenizer turns text into numbers, and the numbers into text again. The quick brown fox jumps over "
    "the lazy dog, while the cache keeps the keys and values of the past. Testing, testing: one, two, "
    "three. The lights of the town were warm and yellow, and the small model was tested once more.")

TOKENIZER_CORPUS = [
    "",
    " ",
    "a",
    "Hello world",
    "Hello  world",
    "  leading and trailing spaces  ",
    "multiple     spaces\tand\ttabs\nnew\n\nlines\r\nand CRLF",
    "The quick brown fox jumps over the lazy dog.",
    "na\u00efve caf\u00e9 r\u00e9sum\u00e9 \u00fcber stra\u00dfe",
    "combining: e\u0301 vs \u00e9, A\u030a vs \u00c5",
    "CAPS LOCK TEXT and MiXeD CaSe",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \u4e2d\u6587\u5b57\u7b26\u6d4b\u8bd5",
    "Korean \ud55c\uad6d\uc5b4, Arabic \u0645\u0631\u062d\u0628\u0627, Greek \u03a9\u03bc\u03ad\u03b3\u03b1",
    "emoji \U0001F600\U0001F680 \U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467",
    "numbers 12345 3.14159 1,000,000 -42 0x1F 2024-05-17",
    "don't can't I'm we'll they've she'd it's",
    "I'M SHOUTING, DON'T YOU SEE?",
    "math: \u03a9 \u2211 \u222b \u221a2 \u2248 1.414 \u00b1 0.001",
    "code: def f(x):\n    return x**2  # comment",
    "URL https://example.com/a?b=c&d=e#frag",
    "zero\u200bwidth and non\u00a0breaking\u00a0space",
    "control\u0007chars\u0000here",
    "special tokens: <|endoftext|> and <s> and </s> and <unk> and <pad>",
    "bert specials: [CLS] first [SEP] second [SEP] [MASK] [PAD] [UNK]",
    "<|endoftext|><|endoftext|>glued<s>together</s>",
    "!!!???...,,,;;;:::---___***",
    "a" * 60,
]


# ----------------------------------------------------------------------------------------------
# Tokenizers
# ----------------------------------------------------------------------------------------------

def common_characters(count):
    """The `count` most frequent characters of TRAINING_TEXT, ties broken by code point; ' ' counts
    as the Metaspace '▁' it becomes."""
    freq = collections.Counter("".join(TRAINING_TEXT).replace("\n", " "))
    ranked = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))
    return {c for c, _ in ranked[:count]}


def trained_bpe_parts(pre_tokenizer, vocab_size, initial_alphabet, normalizer=None, text=None):
    """Trains a BPE on `text` (default TRAINING_TEXT) and returns (tokens in id order, merges)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    if normalizer is not None:
        tok.normalizer = normalizer
    kwargs = dict(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                  initial_alphabet=initial_alphabet, special_tokens=[])
    tok.train_from_iterator(TRAINING_TEXT if text is None else text, trainer=trainers.BpeTrainer(**kwargs))
    model = json.loads(tok.to_str())["model"]
    tokens = [t for t, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return tokens, merges


def compose_vocab(front, middle, back):
    vocab = {}
    for t in list(front) + list(middle) + list(back):
        assert t not in vocab, f"duplicate token {t!r}"
        vocab[t] = len(vocab)
    return vocab


def byte_level_tokenizer(vocab_size, front_specials, back_specials, nfc):
    """GPT-2 style byte-level BPE; specials placed where each family keeps them."""
    n_trained = vocab_size - len(front_specials) - len(back_specials)
    tokens, merges = trained_bpe_parts(pre_tokenizers.ByteLevel(add_prefix_space=False), n_trained,
                                       pre_tokenizers.ByteLevel.alphabet(),
                                       normalizers.NFC() if nfc else None)
    assert len(tokens) == n_trained, f"trainer gave {len(tokens)} tokens, wanted {n_trained}"
    vocab = compose_vocab(front_specials, tokens, back_specials)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens(list(front_specials) + list(back_specials))
    return tok


def sentencepiece_style_tokenizer(vocab_size):
    """Llama-style tokenizer.json: BPE over '▁'-joined text with <0xXX> byte fallback."""
    specials = ["<unk>", "<s>", "</s>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    n_trained = vocab_size - len(specials) - len(byte_tokens)
    # Training splits on '▁' so no merge spans a word boundary, as SentencePiece's default does.
    # Only the 40 commonest characters become pieces so that the rest exercise byte fallback; they
    # are picked here because the trainer's own limit_alphabet breaks count ties by hash order.
    alphabet = common_characters(40)
    tokens, merges = trained_bpe_parts(
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always"), n_trained, [],
        text=["".join(c for c in line if c in alphabet) for line in TRAINING_TEXT])
    assert len(tokens) == n_trained, f"trainer gave {len(tokens)} tokens, wanted {n_trained}"
    vocab = compose_vocab(specials + byte_tokens, tokens, [])
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True,
                               byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    tok.add_special_tokens(specials)
    return tok


def wordpiece_vocab(normalizer, pre_tokenizer, size):
    """A deterministic WordPiece vocab: every character (word-initial and ##), then the commonest
    multi-character pieces, shorter first on ties. (The tokenizers WordPieceTrainer numbers and
    even picks tied pieces in hash order, so it differs from run to run.)"""
    words = collections.Counter()
    for line in TRAINING_TEXT:
        for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line)):
            words[word] += 1
    chars = {w[0] for w in words} | {"##" + c for w in words for c in w[1:]}
    seen = collections.Counter()
    for word, count in words.items():
        for i in range(len(word)):
            for j in range(i + 2, len(word) + 1):
                seen[word[i:j] if i == 0 else "##" + word[i:j]] += count
    pieces = sorted(chars, key=lambda t: (t.startswith("##"), t))
    ranked = sorted(seen.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
    pieces += [t for t, _ in ranked[:size - len(pieces)]]
    assert len(pieces) == size, f"corpus too small for a {size}-piece WordPiece vocab"
    return pieces


def wordpiece_tokenizer(vocab_size):
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                            lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    pieces = wordpiece_vocab(normalizer, pre_tokenizer, vocab_size - len(specials))
    tok = Tokenizer(models.WordPiece(compose_vocab(specials, pieces, []), unk_token="[UNK]",
                                     max_input_chars_per_word=100))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre_tokenizer
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(specials)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return tok


def build_tokenizers():
    """Returns {tokenizer name: (HF fast tokenizer, slow class or None, note)}."""
    gpt2 = byte_level_tokenizer(317, [], ["<|endoftext|>"], nfc=False)
    gpt2_fast = GPT2TokenizerFast(tokenizer_object=gpt2, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                  unk_token="<|endoftext|>", model_max_length=160)

    # OPT: GPT-2 BPE with <s>,<pad>,</s>,<unk> at 0..3; its tokenizer prepends </s> as BOS.
    opt = byte_level_tokenizer(311, ["<s>", "<pad>", "</s>", "<unk>"], [], nfc=False)
    opt.post_processor = processors.TemplateProcessing(
        single="</s>:0 $A:0", pair="</s>:0 $A:0 </s>:1 $B:1", special_tokens=[("</s>", 2)])
    opt_fast = GPT2TokenizerFast(tokenizer_object=opt, bos_token="</s>", eos_token="</s>", unk_token="</s>",
                                 pad_token="<pad>", add_bos_token=True, model_max_length=144)

    # GPT-NeoX: <|endoftext|>=0, <|padding|>=1, and an NFC normalizer like the Pythia tokenizer.json.
    neox = byte_level_tokenizer(301, ["<|endoftext|>", "<|padding|>"], [], nfc=True)
    neox_fast = GPTNeoXTokenizerFast(tokenizer_object=neox, bos_token="<|endoftext|>",
                                     eos_token="<|endoftext|>", unk_token="<|endoftext|>",
                                     pad_token="<|padding|>", add_bos_token=False, add_eos_token=False,
                                     model_max_length=144)

    llama = sentencepiece_style_tokenizer(347)
    llama_fast = LlamaTokenizerFast(tokenizer_object=llama, unk_token="<unk>", bos_token="<s>",
                                    eos_token="</s>", add_bos_token=True, add_eos_token=False, legacy=False,
                                    model_max_length=144)

    bert = wordpiece_tokenizer(251)
    bert_fast = BertTokenizerFast(tokenizer_object=bert, do_lower_case=True, unk_token="[UNK]",
                                  sep_token="[SEP]", pad_token="[PAD]", cls_token="[CLS]", mask_token="[MASK]",
                                  tokenize_chinese_chars=True, strip_accents=None, model_max_length=144)
    return {
        "bytelevel_gpt2": (gpt2_fast, GPT2Tokenizer, "GPT-2 byte-level BPE, <|endoftext|> last"),
        "bytelevel_opt": (opt_fast, GPT2Tokenizer, "GPT-2 byte-level BPE, OPT specials 0..3, prepends </s>"),
        "bytelevel_neox": (neox_fast, None, "byte-level BPE with NFC; transformers has no slow NeoX tokenizer"),
        "sentencepiece_llama": (llama_fast, None,
                                "BPE with byte_fallback and '▁' normalizer like Llama's tokenizer.json; "
                                "no slow tokenizer (needs a sentencepiece .model)"),
        "wordpiece_bert": (bert_fast, BertTokenizer, "uncased WordPiece with [PAD],[UNK],[CLS],[SEP],[MASK]"),
    }


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------

NO_DROPOUT_GPT = dict(resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)

# The base models' settings; the feature models below change one or two of them.
GPT2_TINY = dict(
    vocab_size=317, n_positions=160, n_embd=36, n_layer=2, n_head=3, n_inner=100,
    activation_function="gelu_new", layer_norm_epsilon=1e-5, bos_token_id=316, eos_token_id=316,
    tie_word_embeddings=True, **NO_DROPOUT_GPT)
LLAMA_TINY = dict(
    vocab_size=347, hidden_size=40, intermediate_size=76, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=144, rms_norm_eps=1e-5, rope_theta=10000.0,
    tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=None)
NEOX_TINY = dict(
    vocab_size=301, hidden_size=36, num_hidden_layers=2, num_attention_heads=3, intermediate_size=100,
    hidden_act="gelu", rotary_pct=0.5, rotary_emb_base=10000, max_position_embeddings=144,
    layer_norm_eps=1e-5, use_parallel_residual=True, bos_token_id=0, eos_token_id=0,
    tie_word_embeddings=False, hidden_dropout=0.0, attention_dropout=0.0)

# name -> (model class, config, tokenizer name, what it exercises)
DECODERS = {
    "gpt2": (GPT2LMHeadModel, GPT2Config(**GPT2_TINY),
        "bytelevel_gpt2", "learned positions, fused c_attn Conv1D (in x out), gelu_new, tied head"),
    "llama": (LlamaForCausalLM, LlamaConfig(**LLAMA_TINY),
        "sentencepiece_llama", "RMSNorm, rotate-half RoPE, GQA 4 q heads / 2 kv heads (head_dim 10), SwiGLU, "
                               "untied head"),
    "llama_tied": (LlamaForCausalLM, LlamaConfig(
        vocab_size=347, hidden_size=36, intermediate_size=100, num_hidden_layers=2, num_attention_heads=3,
        num_key_value_heads=1, max_position_embeddings=144, rms_norm_eps=1e-6, rope_theta=500000.0,
        tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=None),
        "sentencepiece_llama", "multi-query (1 kv head for 3 q heads), rope_theta 500000, eps 1e-6, tied head"),
    "opt": (OPTForCausalLM, OPTConfig(
        vocab_size=311, hidden_size=40, num_hidden_layers=2, ffn_dim=76, num_attention_heads=4,
        max_position_embeddings=144, do_layer_norm_before=True, word_embed_proj_dim=28,
        activation_function="relu", dropout=0.0, attention_dropout=0.0, layerdrop=0.0,
        pad_token_id=1, bos_token_id=2, eos_token_id=2, enable_bias=True),
        "bytelevel_opt", "pre-LN, learned positions with offset 2, project_in/project_out (28 <-> 40), relu, "
                         "tied head on the 28-wide embedding"),
    "opt_postln": (OPTForCausalLM, OPTConfig(
        vocab_size=311, hidden_size=36, num_hidden_layers=3, ffn_dim=100, num_attention_heads=3,
        max_position_embeddings=144, do_layer_norm_before=False, word_embed_proj_dim=36,
        activation_function="relu", dropout=0.0, attention_dropout=0.0, layerdrop=0.0,
        pad_token_id=1, bos_token_id=2, eos_token_id=2, enable_bias=True),
        "bytelevel_opt", "post-LN (LayerNorm after each residual add, no final norm), no projections"),
    "gptj": (GPTJForCausalLM, GPTJConfig(
        vocab_size=317, n_positions=144, n_embd=40, n_layer=2, n_head=4, rotary_dim=6, n_inner=76,
        activation_function="gelu_new", layer_norm_epsilon=1e-5, bos_token_id=316, eos_token_id=316,
        tie_word_embeddings=False, **NO_DROPOUT_GPT),
        "bytelevel_gpt2", "parallel attn+MLP on one ln_1, interleaved (rotate-every-two) RoPE on 6 of 10 "
                          "head dims, bias-free q/k/v/out, lm_head with bias"),
    "gpt_neox": (GPTNeoXForCausalLM, GPTNeoXConfig(**NEOX_TINY),
        "bytelevel_neox", "fused per-head interleaved qkv, rotate-half RoPE on 6 of 12 dims, parallel "
                          "residual with two LayerNorms, exact gelu"),
    "gpt_neox_seq": (GPTNeoXForCausalLM, GPTNeoXConfig(
        vocab_size=301, hidden_size=40, num_hidden_layers=2, num_attention_heads=2, intermediate_size=76,
        hidden_act="gelu", rotary_pct=0.5, rotary_emb_base=10000, max_position_embeddings=144,
        layer_norm_eps=1e-5, use_parallel_residual=False, bos_token_id=0, eos_token_id=0,
        tie_word_embeddings=False, hidden_dropout=0.0, attention_dropout=0.0),
        "bytelevel_neox", "sequential residual, 2 heads of 20 dims, RoPE on 10 of 20 dims"),
    "llama_rope_dynamic": (LlamaForCausalLM, LlamaConfig(**dict(
        LLAMA_TINY, max_position_embeddings=24, rope_scaling={"type": "dynamic", "factor": 2.0})),
        "sentencepiece_llama", "dynamic NTK rope_scaling (factor 2) past max_position_embeddings = 24: "
                               "the base grows with every forward's length, prefill and decode"),
    "gpt_neox_rope_linear": (GPTNeoXForCausalLM, GPTNeoXConfig(
        **NEOX_TINY, rope_scaling={"type": "linear", "factor": 4.0}),
        "bytelevel_neox", "linear rope_scaling (positions / 4) on partial rotary"),
    "gpt2_layer_scaled": (GPT2LMHeadModel, GPT2Config(
        **dict(GPT2_TINY, n_layer=3), scale_attn_by_inverse_layer_idx=True),
        "bytelevel_gpt2", "scale_attn_by_inverse_layer_idx: layer i's scores also divided by i + 1"),
}

ENCODERS = {
    "bert": (BertConfig(
        vocab_size=251, hidden_size=36, num_hidden_layers=2, num_attention_heads=3, intermediate_size=100,
        max_position_embeddings=160, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0, num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2}),
        "wordpiece_bert", "post-LN encoder, token types, tanh pooler, 3-way classifier with label names"),
    "bert2": (BertConfig(
        vocab_size=251, hidden_size=40, num_hidden_layers=2, num_attention_heads=4, intermediate_size=76,
        max_position_embeddings=144, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=0, num_labels=2,
        id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1}),
        "wordpiece_bert", "binary classifier, 4 heads of 10 dims, max positions 144"),
}


def add_visible_noise(model, seed):
    """Replaces every parameter so that gains, biases and weights all matter to the output."""
    gen = torch.Generator().manual_seed(seed)
    seen = set()
    with torch.no_grad():
        for module in model.modules():
            is_norm = isinstance(module, torch.nn.LayerNorm) or type(module).__name__.endswith("RMSNorm")
            for pname, p in module.named_parameters(recurse=False):
                if id(p) in seen:  # tied weights get one draw
                    continue
                seen.add(id(p))
                noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
                if pname == "bias":
                    p.copy_(BIAS_STD * noise)
                elif is_norm:
                    p.copy_(1.0 + GAIN_STD * noise)
                else:
                    p.copy_(WEIGHT_STD * noise)


def build_model(cls, config, seed):
    torch.manual_seed(seed)
    config = copy.deepcopy(config)
    model = cls._from_config(config, attn_implementation="eager", torch_dtype=torch.float32)
    add_visible_noise(model, seed + 1)
    model.eval()
    return model


def save_hf_folder(model, tokenizer, folder):
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)


# ----------------------------------------------------------------------------------------------
# Decoder goldens
# ----------------------------------------------------------------------------------------------

@contextlib.contextmanager
def ignoring_eos(model):
    """_greedy_search in 4.40 falls back to model.generation_config.eos_token_id even when the
    GenerationConfig passed to generate() has none, so the model's own copy is cleared meanwhile."""
    saved = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = None
    try:
        yield
    finally:
        model.generation_config.eos_token_id = saved


def fresh_rope(model):
    """transformers 4.40.2's dynamic-NTK rotary modules overwrite their inv_freq (and NeoX its cos/sin
    cache) with the base of the longest forward seen, and keep using it for later, shorter calls.
    Every vkinfer request starts from the configured base, so every golden call starts from the
    rotary state the model was built with. A no-op for every other rotary module."""
    state = getattr(model, "_fresh_rope_state", None)
    if state is None:
        state = {}
        for name, module in model.named_modules():
            if type(module).__name__.endswith("RotaryEmbedding"):
                buffers = {k: v.clone() for k, v in module._buffers.items() if v is not None}
                state[name] = (buffers, getattr(module, "max_seq_len_cached", None))
        model._fresh_rope_state = state
    for name, module in model.named_modules():
        if name in state:
            buffers, cached = state[name]
            for k, v in buffers.items():
                module._buffers[k] = v.clone()
            if cached is not None:
                module.max_seq_len_cached = cached


def greedy(model, prompt_ids, pad_id):
    """32 new tokens by HF greedy search; EOS is ignored so every case has the full length."""
    fresh_rope(model)
    gen_config = GenerationConfig(do_sample=False, max_new_tokens=NEW_TOKENS, eos_token_id=None,
                                  pad_token_id=pad_id, num_beams=1, output_logits=True,
                                  return_dict_in_generate=True)
    ids = torch.tensor([prompt_ids], dtype=torch.long)
    with torch.no_grad(), ignoring_eos(model):
        out = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=gen_config)
    new_ids = out.sequences[0, len(prompt_ids):].tolist()
    step_logits = torch.stack([l[0] for l in out.logits]).float()  # [NEW_TOKENS, V]
    assert len(new_ids) == NEW_TOKENS
    assert step_logits.argmax(-1).tolist() == new_ids, "generate() did not pick the argmax"
    top2 = step_logits.topk(2, dim=-1).values
    margin = float((top2[:, 0] - top2[:, 1]).min())
    return new_ids, step_logits.numpy(), margin


def prefill_logits(model, prompt_ids):
    fresh_rope(model)
    with torch.no_grad():
        return model(torch.tensor([prompt_ids], dtype=torch.long)).logits[0].float().numpy()  # [T, V]


def draw_prompt(rng, length, vocab_size, special_ids, bos_id):
    allowed = np.array([i for i in range(vocab_size) if i not in special_ids])
    ids = rng.choice(allowed, size=length).tolist()
    if bos_id is not None:  # families whose tokenizer adds BOS see it first, as in real use
        ids[0] = bos_id
    return [int(i) for i in ids]


def robust_greedy_case(model, rng, length, vocab_size, special_ids, bos_id, pad_id):
    """Draws prompts until greedy decoding has no near-tie step (see MIN_GREEDY_MARGIN)."""
    for attempt in range(50):
        prompt = draw_prompt(rng, length, vocab_size, special_ids, bos_id)
        new_ids, step_logits, margin = greedy(model, prompt, pad_id)
        if margin >= MIN_GREEDY_MARGIN:
            return prompt, new_ids, step_logits, margin, attempt
    raise RuntimeError(f"no prompt of length {length} without a greedy near-tie after 50 draws")


def decoder_goldens(name, model, tokenizer, golden_dir, seed):
    cfg = model.config
    vocab_size = cfg.vocab_size
    special_ids = set(tokenizer.all_special_ids) | set(tokenizer.added_tokens_decoder)
    bos_id = tokenizer.bos_token_id if getattr(tokenizer, "add_bos_token", False) else None
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else cfg.eos_token_id
    rng = np.random.default_rng(seed)
    cases = []
    for i, length in enumerate(DECODER_PROMPT_LENGTHS):
        prompt, new_ids, step_logits, margin, redraws = robust_greedy_case(
            model, rng, length, vocab_size, special_ids, bos_id, pad_id)
        logits = prefill_logits(model, prompt)
        assert int(logits[-1].argmax()) == new_ids[0]
        np.testing.assert_allclose(logits[-1], step_logits[0], rtol=1e-4, atol=1e-5)
        case = {"prompt_ids": prompt, "greedy_ids": new_ids, "min_greedy_margin": margin,
                "prompt_redraws": redraws,
                "prefill_logits": f"{name}.case{i}.logits.npy", "prefill_logits_shape": list(logits.shape)}
        np.save(golden_dir / case["prefill_logits"], logits.astype(np.float32))
        if i == 0:  # per-step decode logits of the short prompt check the KV-cache path numerically
            case["decode_logits"] = f"{name}.case{i}.decode_logits.npy"
            case["decode_logits_shape"] = list(step_logits.shape)
            np.save(golden_dir / case["decode_logits"], step_logits.astype(np.float32))
        cases.append(case)

    text_cases = []
    for text in DECODER_TEXT_PROMPTS:
        prompt = tokenizer(text)["input_ids"]
        new_ids, _, margin = greedy(model, prompt, pad_id)
        if margin < MIN_GREEDY_MARGIN:
            continue
        text_cases.append({"prompt_text": text, "prompt_ids": prompt, "greedy_ids": new_ids,
                           "greedy_text": tokenizer.decode(new_ids, skip_special_tokens=False),
                           "full_text": tokenizer.decode(prompt + new_ids, skip_special_tokens=True),
                           "min_greedy_margin": margin})
        break
    assert text_cases, f"{name}: every text prompt has a greedy near-tie"

    batch = []
    for length in BATCH_PROMPT_LENGTHS:
        prompt, new_ids, _, margin, redraws = robust_greedy_case(
            model, rng, length, vocab_size, special_ids, bos_id, pad_id)
        batch.append({"prompt_ids": prompt, "greedy_ids": new_ids, "min_greedy_margin": margin})
    check_left_padded_batch(name, model, batch, pad_id)

    return {
        "model": name, "folder": f"models/{name}", "architecture": type(model).__name__,
        "transformers_version": transformers.__version__, "torch_version": torch.__version__,
        "dtype": "float32", "attn_implementation": "eager",
        "new_tokens": NEW_TOKENS, "eos_ignored": True,
        "note": "greedy_ids are the new tokens only; generation ignored EOS (eos_token_id=None) so each case "
                "has exactly new_tokens ids, all of them plain argmax (no logits processors).",
        "cases": cases, "text_cases": text_cases,
        "batch": {"pad_token_id": pad_id, "padding_side": "left",
                  "note": "each prompt's greedy_ids come from running it alone; a left-padded batch with an "
                          "attention mask must reproduce them, or batch_greedy_ids where HF's own batch "
                          "differs (dynamic rope_scaling: the base follows the longest row)",
                  "prompts": batch},
    }


def check_left_padded_batch(name, model, batch, pad_id):
    """HF itself must agree that left padding does not change the answers, or the golden is moot."""
    fresh_rope(model)
    longest = max(len(b["prompt_ids"]) for b in batch)
    ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, b in enumerate(batch):
        n = len(b["prompt_ids"])
        ids[row, longest - n:] = torch.tensor(b["prompt_ids"])
        mask[row, longest - n:] = 1
    gen_config = GenerationConfig(do_sample=False, max_new_tokens=NEW_TOKENS, eos_token_id=None,
                                  pad_token_id=pad_id, num_beams=1)
    with torch.no_grad(), ignoring_eos(model):
        out = model.generate(ids, attention_mask=mask, generation_config=gen_config)
    for row, b in enumerate(batch):
        got = out[row, longest:].tolist()
        if got != b["greedy_ids"]:
            # Expected only where a forward's length changes the numbers for every row: dynamic NTK
            # rope_scaling takes its base from the longest row of the batch. The batch golden is
            # then HF's batch answer.
            assert model.config.to_dict().get("rope_scaling", None) is not None, \
                f"{name}: HF left-padded batch row {row} differs from its solo run"
            b["batch_greedy_ids"] = got


# ----------------------------------------------------------------------------------------------
# BERT goldens
# ----------------------------------------------------------------------------------------------

def bert_logits(model, input_ids, token_type_ids, attention_mask=None):
    with torch.no_grad():
        kwargs = {"input_ids": torch.tensor(input_ids), "token_type_ids": torch.tensor(token_type_ids)}
        if attention_mask is not None:
            kwargs["attention_mask"] = torch.tensor(attention_mask)
        return model(**kwargs).logits.float()


def bert_goldens(name, model, tokenizer, seed):
    cfg = model.config
    rng = np.random.default_rng(seed)
    cls_id, sep_id, pad_id = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    plain_ids = np.array([i for i in range(cfg.vocab_size) if i not in set(tokenizer.all_special_ids)])

    cases = []

    def add_case(label, ids, types, **extra):
        logits = bert_logits(model, [ids], [types])[0]
        cases.append({"name": label, **extra, "input_ids": ids, "token_type_ids": types,
                      "logits": [float(x) for x in logits],
                      "predicted_label": cfg.id2label[int(logits.argmax())]})

    for text, pair in BERT_PAIRS:
        enc = tokenizer(text, pair) if pair is not None else tokenizer(text)
        add_case("pair" if pair is not None else "single", enc["input_ids"], enc["token_type_ids"],
                 text=text, text_pair=pair)
    enc = tokenizer(BERT_LONG_TEXT, truncation=True, max_length=100)
    add_case("long_text", enc["input_ids"], enc["token_type_ids"], text=BERT_LONG_TEXT, truncated_to=100)

    # Random ids at odd lengths (total length including [CLS]/[SEP]); the 63 one carries a pair split.
    for total in (3, 17, 63, min(130, cfg.max_position_embeddings)):
        body = [int(x) for x in rng.choice(plain_ids, size=total - 2)]
        ids = [cls_id] + body + [sep_id]
        types = [0] * total
        if total == 63:
            split = 30
            ids[split] = sep_id
            types = [0] * (split + 1) + [1] * (total - split - 1)
        add_case(f"random_len{total}", ids, types)

    lengths = (3, 17, 40, 9)
    rows = []
    for total in lengths:
        body = [int(x) for x in rng.choice(plain_ids, size=total - 2)]
        rows.append([cls_id] + body + [sep_id])
    width = max(lengths)
    ids = [r + [pad_id] * (width - len(r)) for r in rows]
    types = [[0] * width for _ in rows]
    mask = [[1] * len(r) + [0] * (width - len(r)) for r in rows]
    logits = bert_logits(model, ids, types, mask)
    for r, row in enumerate(rows):  # padding must not move the real tokens' answer
        solo = bert_logits(model, [row], [[0] * len(row)])[0]
        np.testing.assert_allclose(logits[r].numpy(), solo.numpy(), rtol=1e-4, atol=1e-5)
    batch = {"padding_side": "right", "pad_token_id": pad_id, "lengths": list(lengths), "input_ids": ids,
             "token_type_ids": types, "attention_mask": mask,
             "logits": [[float(x) for x in row] for row in logits]}

    return {"model": name, "folder": f"models/{name}", "architecture": type(model).__name__,
            "transformers_version": transformers.__version__, "torch_version": torch.__version__,
            "dtype": "float32", "attn_implementation": "eager",
            "id2label": {str(k): v for k, v in cfg.id2label.items()},
            "note": "single cases run without attention_mask; text cases record the HF fast tokenizer's ids",
            "cases": cases, "batch": batch}


# ----------------------------------------------------------------------------------------------
# Tokenizer goldens
# ----------------------------------------------------------------------------------------------

def tokenizer_goldens(tokenizers, folders):
    out = {"transformers_version": transformers.__version__, "tokenizers": {}}
    for tname, (fast, slow_cls, note) in tokenizers.items():
        folder = folders[tname]
        reloaded = type(fast).from_pretrained(folder)  # what a user loading the folder gets
        slow = slow_cls.from_pretrained(folder) if slow_cls is not None else None
        entries = []
        disagreements = 0
        for text in TOKENIZER_CORPUS:
            ids = reloaded(text)["input_ids"]
            fresh = fast(text)["input_ids"]
            assert ids == fresh, f"{tname}: saved tokenizer differs from in-memory one on {text!r}"
            entry = {"text": text, "ids": ids,
                     "ids_no_special": reloaded(text, add_special_tokens=False)["input_ids"],
                     "tokens": reloaded.convert_ids_to_tokens(ids),
                     "decoded": reloaded.decode(ids, skip_special_tokens=False),
                     "decoded_skip_special": reloaded.decode(ids, skip_special_tokens=True)}
            if slow is not None:
                slow_ids = slow(text)["input_ids"]
                entry["slow_agrees"] = slow_ids == ids
                if slow_ids != ids:
                    entry["slow_ids"] = slow_ids
                    disagreements += 1
            entries.append(entry)
        out["tokenizers"][tname] = {
            "folder": str(Path("models") / folder.name), "class": type(fast).__name__,
            "slow_class": slow_cls.__name__ if slow_cls is not None else None, "note": note,
            "vocab_size": len(reloaded), "special_tokens": reloaded.all_special_tokens,
            "special_ids": reloaded.all_special_ids, "slow_disagreements": disagreements, "cases": entries}
    return out


# ----------------------------------------------------------------------------------------------

def verify_round_trip(data_root):
    """Reloads every saved folder the way a user would and checks it reproduces the goldens, so a
    save-time surprise (a dropped tied weight, a tokenizer that loads differently) cannot slip in."""
    for name in list(DECODERS) + list(ENCODERS):
        folder = data_root / "models" / name
        golden = json.loads((data_root / "golden" / f"{name}.json").read_text(encoding="utf-8"))
        tok = AutoTokenizer.from_pretrained(folder)
        if name in DECODERS:
            model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager").eval()
            for case in golden["cases"]:
                want = np.load(data_root / "golden" / case["prefill_logits"])
                np.testing.assert_array_equal(prefill_logits(model, case["prompt_ids"]), want)
            for case in golden["text_cases"]:
                assert tok(case["prompt_text"])["input_ids"] == case["prompt_ids"], name
        else:
            model = AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="eager").eval()
            for case in golden["cases"]:
                got = bert_logits(model, [case["input_ids"]], [case["token_type_ids"]])[0]
                np.testing.assert_array_equal(got.numpy(), np.array(case["logits"], dtype=np.float32))
                if case.get("text") is not None:
                    enc = tok(case["text"], case.get("text_pair"), truncation=True, max_length=100)
                    assert enc["input_ids"] == case["input_ids"], name


def write_json(path, obj):
    """Indented for diffs, but lists of scalars stay on one line so id lists do not take 1 line per id."""
    def render(value, depth):
        pad = " " * depth
        if isinstance(value, dict) and value:
            items = [f'{pad} {json.dumps(k, ensure_ascii=False)}: {render(v, depth + 1)}' for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
            return "[\n" + ",\n".join(f"{pad} {render(v, depth + 1)}" for v in value) + "\n" + pad + "]"
        return json.dumps(value, ensure_ascii=False)
    text = render(obj, 0)
    assert json.loads(text) == obj
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def main():
    repo = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=repo / "tests" / "data",
                        help="data root that receives models/ and golden/ (default: tests/data)")
    args = parser.parse_args()
    if transformers.__version__ != EXPECTED_TRANSFORMERS:
        sys.exit(f"error: transformers {transformers.__version__} found; goldens are pinned to "
                 f"{EXPECTED_TRANSFORMERS}. Run with /work/main/.venv/bin/python.")
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    models_dir, golden_dir = args.out / "models", args.out / "golden"
    golden_dir.mkdir(parents=True, exist_ok=True)
    models_dir.mkdir(parents=True, exist_ok=True)
    # Only this script's own files: the assets' and make_goldens_llama3.py's goldens live here too.
    own = set(DECODERS) | set(ENCODERS) | {"tokenizers_tiny"}
    for stale in golden_dir.glob("*"):
        if stale.name.split(".")[0] in own:
            stale.unlink()

    toks = build_tokenizers()
    first_folder = {}
    for index, (name, (cls, config, tname, _)) in enumerate(DECODERS.items()):
        fast = toks[tname][0]
        assert len(fast) == config.vocab_size, f"{name}: tokenizer {len(fast)} != vocab {config.vocab_size}"
        model = build_model(cls, config, seed=1000 + 10 * index)
        model.generation_config = GenerationConfig(bos_token_id=config.bos_token_id,
                                                   eos_token_id=config.eos_token_id,
                                                   pad_token_id=config.pad_token_id)
        save_hf_folder(model, fast, models_dir / name)
        first_folder.setdefault(tname, models_dir / name)
        write_json(golden_dir / f"{name}.json", decoder_goldens(name, model, fast, golden_dir, 2000 + index))
        print(f"{name}: {sum(p.numel() for p in model.parameters())} params")

    for index, (name, (config, tname, _)) in enumerate(ENCODERS.items()):
        fast = toks[tname][0]
        assert len(fast) == config.vocab_size, f"{name}: tokenizer {len(fast)} != vocab {config.vocab_size}"
        model = build_model(BertForSequenceClassification, config, seed=5000 + 10 * index)
        save_hf_folder(model, fast, models_dir / name)
        first_folder.setdefault(tname, models_dir / name)
        write_json(golden_dir / f"{name}.json", bert_goldens(name, model, fast, 6000 + index))
        print(f"{name}: {sum(p.numel() for p in model.parameters())} params")

    write_json(golden_dir / "tokenizers_tiny.json", tokenizer_goldens(toks, first_folder))
    verify_round_trip(args.out)
    print("reloaded every folder with Auto* classes: goldens reproduced")


if __name__ == "__main__":
    main()
