#!/usr/bin/env python3
"""Writes the GGUF model files of tests/gguf_model_test.cpp and their goldens.

Each file is a tiny Hugging Face model converted the way llama.cpp's
convert_hf_to_gguf.py converts it (gguf-py's GGUFWriter and TensorNameMap,
LlamaModel's q/k permutation, GPT-2's transposed Conv1D weights and
duplicated head, GPT-NeoX's regrouped qkv, Gemma's norm + 1, the same
metadata keys and tokenizer metadata), in F32, F16, the block types
gguf.quants can quantize (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1), and Q4_K / Q6_K from
the small quantizers below, plus a mixed Q4_K_M-like file (Q4_K matrices,
Q6_K for attn_v / output and half of ffn_down, Q8_0 / Q5_0 where a row is not
a multiple of 256, F32 norms).

The golden of a file is transformers run on the file's weights dequantized
back to fp32 (gguf.quants.dequantize) with the converter's changes undone:
prefill logits for a fixed prompt, saved as <name>.logits.npy; models.json
lists every file with its prompt and source folder.

Run with the project venv (gguf 0.19, transformers 4.40.2):
  .venv/bin/python tests/data/gguf/make_gguf_models.py
"""
import json
import os
import sys

import gguf
import numpy as np
import torch
import transformers
from gguf import GGMLQuantizationType as Q

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "models")
T = Q  # alias

# ---------------------------------------------------------------- quantizers


def quantize_q4_k(x):
    """A simple Q4_K quantizer: per 32-weight sub-block an unsigned 4-bit
    range [min, max]; 6-bit scales and mins under the block's d and dmin.
    Valid blocks, not llama.cpp's error-minimising search."""
    rows = x.reshape(-1, 256).astype(np.float32)
    out = np.zeros((rows.shape[0], 144), dtype=np.uint8)
    for b, row in enumerate(rows):
        sub = row.reshape(8, 32)
        lo = np.minimum(sub.min(axis=1), 0.0)
        hi = sub.max(axis=1)
        scale = (hi - lo) / 15.0
        mins = -lo
        d = np.float16(scale.max() / 63.0 if scale.max() > 0 else 0.0)
        dmin = np.float16(mins.max() / 63.0 if mins.max() > 0 else 0.0)
        sc = np.clip(np.round(scale / np.float32(d)), 0, 63).astype(np.int64) if d > 0 else np.zeros(8, np.int64)
        mn = np.clip(np.round(mins / np.float32(dmin)), 0, 63).astype(np.int64) if dmin > 0 else np.zeros(8, np.int64)
        q = np.zeros((8, 32), dtype=np.int64)
        for j in range(8):
            step = np.float32(d) * sc[j]
            if step > 0:
                q[j] = np.clip(np.round((sub[j] + np.float32(dmin) * mn[j]) / step), 0, 15)
        scales = np.zeros(12, dtype=np.int64)
        for j in range(4):
            scales[j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6)
            scales[j + 4] = (mn[j] & 63) | ((mn[j + 4] >> 4) << 6)
            scales[j + 8] = (sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4)
        flat = q.reshape(256)
        qs = np.zeros(128, dtype=np.int64)
        for c in range(4):
            qs[c * 32:(c + 1) * 32] = flat[64 * c:64 * c + 32] | (flat[64 * c + 32:64 * c + 64] << 4)
        out[b, 0:2] = np.frombuffer(np.float16(d).tobytes(), np.uint8)
        out[b, 2:4] = np.frombuffer(np.float16(dmin).tobytes(), np.uint8)
        out[b, 4:16] = scales.astype(np.uint8)
        out[b, 16:144] = qs.astype(np.uint8)
    return out.reshape(x.shape[0], -1)


def quantize_q6_k(x):
    """A simple Q6_K quantizer: per 16-weight sub-block a symmetric 6-bit
    scale, int8 scales under the block's d."""
    rows = x.reshape(-1, 256).astype(np.float32)
    out = np.zeros((rows.shape[0], 210), dtype=np.uint8)
    for b, row in enumerate(rows):
        sub = row.reshape(16, 16)
        scale = np.abs(sub).max(axis=1) / 31.0
        d = np.float16(scale.max() / 127.0 if scale.max() > 0 else 0.0)
        sc = np.clip(np.round(scale / np.float32(d)), -128, 127).astype(np.int64) if d > 0 else np.zeros(16, np.int64)
        q = np.full((16, 16), 32, dtype=np.int64)
        for j in range(16):
            step = np.float32(d) * sc[j]
            if step > 0:
                q[j] = np.clip(np.round(sub[j] / step), -32, 31) + 32
        q = q.reshape(256)
        ql = np.zeros(128, dtype=np.int64)
        qh = np.zeros(64, dtype=np.int64)
        for h in range(2):
            base = 128 * h
            for l in range(32):
                q1, q2, q3, q4 = q[base + l], q[base + l + 32], q[base + l + 64], q[base + l + 96]
                ql[64 * h + l] = (q1 & 15) | ((q3 & 15) << 4)
                ql[64 * h + l + 32] = (q2 & 15) | ((q4 & 15) << 4)
                qh[32 * h + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6)
        out[b, 0:128] = ql.astype(np.uint8)
        out[b, 128:192] = qh.astype(np.uint8)
        out[b, 192:208] = sc.astype(np.int8).view(np.uint8)
        out[b, 208:210] = np.frombuffer(np.float16(d).tobytes(), np.uint8)
    return out.reshape(x.shape[0], -1)


def encode(x, qtype):
    """(array for GGUFWriter, raw_dtype or None, dequantized fp32 values)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    if qtype == Q.F32:
        return x, None, x
    if qtype == Q.F16:
        h = x.astype(np.float16)
        return h, None, h.astype(np.float32)
    if qtype == Q.Q4_K:
        data = quantize_q4_k(x.reshape(-1, x.shape[-1]))
    elif qtype == Q.Q6_K:
        data = quantize_q6_k(x.reshape(-1, x.shape[-1]))
    else:
        data = gguf.quants.quantize(x.reshape(-1, x.shape[-1]), qtype)
    back = gguf.quants.dequantize(data, qtype).reshape(x.shape).astype(np.float32)
    return data, qtype, back


# ---------------------------------------------------- converter-side changes


def llama_permute(w, n_head, n_head_kv):
    # convert_hf_to_gguf.py LlamaModel.permute
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama_unpermute(w, n_head, n_head_kv):
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def neox_regroup(w, n_head):
    # GPTNeoXModel.modify_tensors: per-head [q k v] -> [q | k | v]
    d = w.shape[0] // (3 * n_head)
    g = w.reshape(n_head, 3, d, *w.shape[1:])
    return np.concatenate([g[:, i].reshape(n_head * d, *w.shape[1:]) for i in range(3)], axis=0)


def neox_ungroup(w, n_head):
    d = w.shape[0] // (3 * n_head)
    parts = w.reshape(3, n_head, d, *w.shape[1:])
    return np.stack([parts[i] for i in range(3)], axis=1).reshape(w.shape)


# ---------------------------------------------------------------- tokenizers


def tokenizer_metadata(writer, folder, pre, chat_template=None, spm_name="llama"):
    """Tokenizer keys as the converter writes them from a tokenizer.json
    folder: `gpt2` (byte-level BPE: tokens + merges) or `llama`
    (SentencePiece: tokens + scores, byte-fallback <0xXX> tokens). Our tiny
    SentencePiece-style tokenizers have merges but no .model file, so the
    scores are the merge order (a token made by merge k scores -k), which is
    what makes the score-ordered merges rebuild the same merge list."""
    tok = json.load(open(os.path.join(folder, "tokenizer.json")))
    cfg = json.load(open(os.path.join(folder, "tokenizer_config.json")))
    model = tok["model"]
    vocab = model["vocab"]
    added = {a["content"]: a for a in tok["added_tokens"]}
    size = max(list(vocab.values()) + [a["id"] for a in tok["added_tokens"]]) + 1
    tokens = [""] * size
    for t, i in vocab.items():
        tokens[i] = t
    for a in tok["added_tokens"]:
        tokens[a["id"]] = a["content"]
    types = []
    for i, t in enumerate(tokens):
        if t in added and added[t]["special"]:
            types.append(gguf.TokenType.CONTROL)
        elif t in added:
            types.append(gguf.TokenType.USER_DEFINED)
        elif model.get("byte_fallback") and len(t) == 6 and t.startswith("<0x") and t.endswith(">"):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    spm = model.get("byte_fallback", False)
    if spm:
        writer.add_tokenizer_model(spm_name)
        writer.add_tokenizer_pre("default")
        rank = {}
        for k, m in enumerate(merges):
            merged = m.replace(" ", "")
            rank.setdefault(merged, k)
        scores = [float(-rank[t]) if t in rank else -1e6 for t in tokens]
        if model.get("unk_token") in vocab:
            types[vocab[model["unk_token"]]] = gguf.TokenType.UNKNOWN
        writer.add_token_list(tokens)
        writer.add_token_scores(scores)
        writer.add_token_types(types)
    else:
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(pre)
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_merges(merges)

    def tid(field):
        v = cfg.get(field)
        if isinstance(v, dict):
            v = v.get("content")
        return tokens.index(v) if v in tokens else None

    for field, add in (("bos_token", writer.add_bos_token_id), ("eos_token", writer.add_eos_token_id),
                       ("unk_token", writer.add_unk_token_id), ("pad_token", writer.add_pad_token_id)):
        i = tid(field)
        if i is not None:
            add(i)
    if "add_bos_token" in cfg:
        writer.add_add_bos_token(bool(cfg["add_bos_token"]))
    if "add_eos_token" in cfg:
        writer.add_add_eos_token(bool(cfg["add_eos_token"]))
    if chat_template:
        writer.add_chat_template(chat_template)


CHAT = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}")


# -------------------------------------------------------------- the writers


def hf_state(model):
    return {k: v.detach().float().numpy() for k, v in model.state_dict().items()}


def write_model(name, arch, hf_model, config, tok_folder, pre, types, chat=None, bad=None, out_dir=HERE):
    """types(gguf_name, array) -> quantization type. Returns the HF state
    dict with the file's (dequantized, un-permuted) values. `bad` breaks
    the file one way: "arch" (an architecture vkinfer does not run), "key"
    (no attention.head_count), "tensor" (no blk.0.ffn_up.weight), "shape"
    (feed_forward_length disagrees with the tensors), "tokenizer"
    (tokenizer.ggml.model "t5")."""
    path = os.path.join(out_dir, name + ".gguf")
    w = gguf.GGUFWriter(path, "mamba" if bad == "arch" else arch)
    w.add_name(name)
    c = config
    if arch == "gpt2":
        w.add_context_length(c.n_positions)
        w.add_embedding_length(c.n_embd)
        # GPT2Model writes 4 * n_embd, right for every released GPT-2 (n_inner
        # None); our test model sets n_inner, so write the width it has.
        w.add_feed_forward_length(c.n_inner or 4 * c.n_embd)
        w.add_block_count(c.n_layer)
        w.add_head_count(c.n_head)
        w.add_layer_norm_eps(c.layer_norm_epsilon)
    elif arch == "gptneox":
        w.add_context_length(c.max_position_embeddings)
        w.add_embedding_length(c.hidden_size)
        w.add_block_count(c.num_hidden_layers)
        w.add_feed_forward_length(c.intermediate_size)
        w.add_rope_dimension_count(int(c.rotary_pct * (c.hidden_size // c.num_attention_heads)))
        w.add_head_count(c.num_attention_heads)
        w.add_parallel_residual(c.use_parallel_residual)
        w.add_layer_norm_eps(c.layer_norm_eps)
    else:  # llama, qwen2, gemma
        head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        w.add_context_length(c.max_position_embeddings)
        w.add_embedding_length(c.hidden_size)
        w.add_block_count(c.num_hidden_layers)
        w.add_feed_forward_length(c.intermediate_size + (32 if bad == "shape" else 0))
        if bad != "key":
            w.add_head_count(c.num_attention_heads)
        w.add_head_count_kv(c.num_key_value_heads)
        w.add_layer_norm_rms_eps(c.rms_norm_eps)
        w.add_rope_freq_base(c.rope_theta)
        if arch == "gemma":
            w.add_key_length(head_dim)
            w.add_value_length(head_dim)
        else:
            w.add_rope_dimension_count(head_dim)
        w.add_vocab_size(c.vocab_size)
    # "tokenizer": a SentencePiece vocabulary under a model name vkinfer does not build.
    tokenizer_metadata(w, tok_folder, pre, chat, spm_name="t5" if bad == "tokenizer" else "llama")

    tmap = gguf.get_tensor_name_map(getattr(gguf.MODEL_ARCH, {"gptneox": "GPTNEOX"}.get(arch, arch.upper())),
                                    getattr(c, "num_hidden_layers", getattr(c, "n_layer", 0)))
    state = hf_state(hf_model)
    back = {}
    used = {}
    for hf_name, value in state.items():
        if hf_name.endswith((".attn.bias", ".attn.masked_bias", "rotary_emb.inv_freq", ".attention.bias",
                             ".attention.masked_bias")):
            continue  # buffers, not weights
        if arch == "gemma" and hf_name == "lm_head.weight":
            continue  # GemmaModel drops the tied head
        if hf_name == "lm_head.weight" and getattr(c, "tie_word_embeddings", False):
            continue  # saved folders omit the tied head (GPT-2 gets it back as output.weight below)
        gname = tmap.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        assert gname, hf_name
        v = value
        if arch == "llama" and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            v = llama_permute(v, c.num_attention_heads, c.num_attention_heads)
        if arch == "llama" and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            v = llama_permute(v, c.num_attention_heads, c.num_key_value_heads)
        if arch == "gpt2" and hf_name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
            v = v.T
        if arch == "gptneox" and "query_key_value" in hf_name:
            v = neox_regroup(v, c.num_attention_heads)
        if arch == "gemma" and hf_name.endswith("norm.weight"):
            v = v + 1
        if bad == "tensor" and gname == "blk.0.ffn_up.weight":
            continue
        qtype = Q.F32 if v.ndim == 1 else types(gname, v)
        data, raw, deq = encode(v, qtype)
        w.add_tensor(gname, data, raw_dtype=raw)
        used[gname] = qtype.name
        # Undo the converter's changes on the dequantized values.
        if arch == "llama" and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            deq = llama_unpermute(deq, c.num_attention_heads, c.num_attention_heads)
        if arch == "llama" and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            deq = llama_unpermute(deq, c.num_attention_heads, c.num_key_value_heads)
        if arch == "gpt2" and hf_name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
            deq = deq.T
        if arch == "gptneox" and "query_key_value" in hf_name:
            deq = neox_ungroup(deq, c.num_attention_heads)
        if arch == "gemma" and hf_name.endswith("norm.weight"):
            deq = deq - 1
        back[hf_name] = deq
        if arch == "gpt2" and gname == "token_embd.weight":
            # GPT2Model writes the tied head out as output.weight too.
            w.add_tensor("output.weight", data, raw_dtype=raw)
            used["output.weight"] = qtype.name
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return back, used


def prefill(model, state, prompt):
    sd = model.state_dict()
    for k, v in state.items():
        sd[k] = torch.from_numpy(np.ascontiguousarray(v))
    model.load_state_dict(sd)
    if getattr(model.config, "tie_word_embeddings", False):
        model.tie_weights()
    model.eval()
    with torch.no_grad():
        return model(torch.tensor([prompt], dtype=torch.long)).logits[0].float().numpy()


def folder_model(name):
    folder = os.path.join(MODELS, name)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32,
                                                              attn_implementation="eager")
    return model, model.config, folder


def new_llama(hidden, inter, heads, kv, layers, seed):
    cfg = transformers.LlamaConfig(vocab_size=347, hidden_size=hidden, intermediate_size=inter,
                                   num_attention_heads=heads, num_key_value_heads=kv, num_hidden_layers=layers,
                                   max_position_embeddings=64, rms_norm_eps=1e-5, initializer_range=0.08,
                                   tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(seed)
    model = transformers.LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # visible norms, so a wrong norm shows in the logits
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.add_(torch.randn_like(p) * 0.3)
    return model, cfg, os.path.join(MODELS, "llama")


def new_gpt2(embd, seed):
    cfg = transformers.GPT2Config(vocab_size=317, n_positions=64, n_embd=embd, n_layer=2, n_head=4,
                                  initializer_range=0.08)
    torch.manual_seed(seed)
    model = transformers.GPT2LMHeadModel(cfg).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "ln_" in n or n.endswith("bias"):
                p.add_(torch.randn_like(p) * 0.2)
    return model, cfg, os.path.join(MODELS, "gpt2")


def q4_k_m(layers):
    """llama.cpp's Q4_K_M choices for a small model: Q6_K for attn_v, the
    output and ffn_down of the first half of the layers (use_more_bits),
    Q4_K elsewhere; a row that is not a multiple of 256 falls back to Q8_0
    (for Q6_K) or Q5_0 (for Q4_K), as llama_tensor_get_type does."""
    def pick(gname, v):
        want = Q.Q4_K
        if "attn_v" in gname or gname == "output.weight":
            want = Q.Q6_K
        if "ffn_down" in gname and int(gname.split(".")[1]) < (layers + 1) // 2:
            want = Q.Q6_K
        if v.shape[-1] % 256 != 0:
            want = Q.Q8_0 if want == Q.Q6_K else Q.Q5_0
        return want
    return pick


def main():
    rng = np.random.default_rng(20)
    entries = []

    def emit(name, arch, made, types, pre="gpt2", chat=None, tokenizer_check=False):
        model, config, tok_folder = made
        state, used = write_model(name, arch, model, config, tok_folder, pre, types, chat)
        vocab = config.vocab_size
        prompt = [int(x) for x in rng.integers(3, vocab, size=7)]
        logits = prefill(model, state, prompt)
        np.save(os.path.join(HERE, name + ".logits.npy"), logits.astype(np.float32))
        entries.append({"name": name, "file": name + ".gguf", "arch": arch, "prompt_ids": prompt,
                        "prefill_logits": name + ".logits.npy", "types": sorted(set(used.values())),
                        "tokenizer_folder": os.path.relpath(tok_folder, os.path.join(HERE, "..")) if tokenizer_check
                        else None, "chat_template": chat})
        size = os.path.getsize(os.path.join(HERE, name + ".gguf"))
        print(f"{name}: {size / 1024:.0f} KiB, types {sorted(set(used.values()))}", file=sys.stderr)

    f32 = lambda g, v: Q.F32
    f16 = lambda g, v: Q.F16
    emit("llama_f32", "llama", folder_model("llama"), f32, chat=CHAT, tokenizer_check=True)
    emit("gpt2_f16", "gpt2", folder_model("gpt2"), f16, pre="gpt2", tokenizer_check=True)
    emit("qwen2_f16", "qwen2", folder_model("qwen2"), f16, pre="gpt2", tokenizer_check=True)
    emit("gemma_f16", "gemma", folder_model("gemma"), f16)
    emit("gptneox_f16", "gptneox", folder_model("gpt_neox"), f16, pre="gpt2")
    for q in (Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1):
        emit("llama64_" + q.name.lower(), "llama", new_llama(64, 128, 4, 2, 2, seed=7),
             lambda g, v, q=q: q)
    emit("gpt2_64_q8_0", "gpt2", new_gpt2(64, seed=8), lambda g, v: Q.Q8_0)
    emit("llama256_q4_k_m", "llama", new_llama(256, 160, 4, 1, 2, seed=9), q4_k_m(2))
    # Broken files: one fault each, on a model small enough to be cheap.
    for bad in ("arch", "key", "tensor", "shape", "tokenizer"):
        model, config, folder = new_llama(32, 64, 2, 1, 1, seed=10)
        write_model("bad_" + bad, "llama", model, config, folder, "gpt2", f16, bad=bad)
    # Seeds for fuzz/gguf_model_fuzzer: whole models under its 64 KB input limit.
    seeds = os.path.join(HERE, "..", "..", "..", "fuzz", "corpus", "gguf_model_fuzzer")
    os.makedirs(seeds, exist_ok=True)
    model, config, folder = new_llama(32, 64, 2, 1, 1, seed=11)
    write_model("llama_q8_0", "llama", model, config, folder, "gpt2", lambda g, v: Q.Q8_0, chat=CHAT, out_dir=seeds)
    model, config, folder = new_gpt2(32, seed=12)
    write_model("gpt2_q4_1", "gpt2", model, config, folder, "gpt2", lambda g, v: Q.Q4_1, out_dir=seeds)
    with open(os.path.join(HERE, "models.json"), "w") as f:
        json.dump({"gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19",
                   "transformers": transformers.__version__, "models": entries}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
