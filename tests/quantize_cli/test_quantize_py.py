"""`vkinfer quantize` files read by the reference reader (gguf-py).

Runs the real binary ($VKINFER_BIN) on the bundled KJV GPT-2 and the tiny
Llama and Qwen2 test models, then checks with gguf.GGUFReader that the
tensor names, types and GGUF shapes are what llama.cpp's
convert_hf_to_gguf.py + llama-quantize would write (names per gguf-py's
tensor map, Conv1D weights transposed, Llama q/k rows permuted, types by
llama.cpp's Q4_K_M rules with the row-length fallbacks), that the metadata
carries the keys the converter writes, and that gguf.quants.dequantize of
every matrix is close to the Hugging Face weights.

Registered in CTest by tests/quantize_cli.cmake.
"""
import os
import subprocess

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

T = gguf.GGMLQuantizationType
BIN = os.environ.get("VKINFER_BIN")
DATA = os.environ.get("VKINFER_TEST_DATA", "tests/data")
ASSETS = os.environ.get("VKINFER_ASSETS", "assets")


def quantize(tmp_path, model, recipe, *extra):
    if not BIN:
        pytest.skip("VKINFER_BIN is not set")
    out = tmp_path / "out.gguf"
    run = subprocess.run([BIN, "quantize", "--model", model, "--quant", recipe, "--out", str(out), *extra],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return gguf.GGUFReader(str(out))


def field(reader, key):
    f = reader.fields[key]
    return f.contents()


def hf_weights(model):
    return {k: v.astype(np.float32) for k, v in safetensors_numpy.load_file(os.path.join(model, "model.safetensors")).items()}


def llama_permute(w, n_head):
    # convert_hf_to_gguf.py LlamaModel.permute
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def dequantized(t):
    values = gguf.quants.dequantize(t.data, t.tensor_type)
    return np.asarray(values, dtype=np.float32).reshape([int(d) for d in reversed(t.shape)])


# Relative RMS error allowed per type: Q8_0's 8-bit grid keeps it well
# under 1%; the 4- and 5-bit types lose a few percent of the weights'
# spread (ggml's own round-trip tests allow ~2-5% for these), F16 rounds
# at 2^-11.
RMS_TOLERANCE = {T.F32: 1e-7, T.F16: 1e-3, T.Q8_0: 1e-2, T.Q6_K: 3e-2, T.Q5_0: 6e-2, T.Q4_K: 1.2e-1}


def check_close(name, got, want, tensor_type):
    assert got.shape == want.shape, name
    rel = np.sqrt(np.mean((got - want) ** 2)) / max(np.sqrt(np.mean(want ** 2)), 1e-12)
    assert rel <= RMS_TOLERANCE[tensor_type], f"{name} {tensor_type.name}: relative RMS error {rel}"


def test_kjv_gpt2_q4_k_m_matches_the_converter(tmp_path):
    model = os.path.join(ASSETS, "gpt2-kjv")
    reader = quantize(tmp_path, model, "q4_k_m")
    assert field(reader, "general.architecture") == "gpt2"
    assert field(reader, "general.file_type") == 15  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    assert field(reader, "general.quantization_version") == 2
    assert field(reader, "gpt2.block_count") == 4
    assert field(reader, "gpt2.embedding_length") == 192
    assert field(reader, "gpt2.feed_forward_length") == 768  # n_inner null: 4 * n_embd
    assert field(reader, "gpt2.context_length") == 256
    assert field(reader, "gpt2.attention.head_count") == 6
    assert field(reader, "tokenizer.ggml.model") == "gpt2"
    assert field(reader, "tokenizer.ggml.pre") == "gpt2"
    assert len(field(reader, "tokenizer.ggml.tokens")) == 4096
    assert len(field(reader, "tokenizer.ggml.merges")) == 3839

    hf = hf_weights(model)
    tensors = {t.name: t for t in reader.tensors}
    # 192-wide rows are not whole 256-weight super-blocks: Q6_K falls back
    # to Q8_0 and Q4_K to Q5_0; ffn_down's 768-wide rows keep K-quants, Q6_K
    # on the layers use_more_bits picks (2 and 3 of 4).
    expected = {
        "token_embd.weight": (T.Q8_0, [192, 4096], "transformer.wte.weight", False),
        "output.weight": (T.Q8_0, [192, 4096], "transformer.wte.weight", False),
        "position_embd.weight": (T.F32, [192, 256], "transformer.wpe.weight", False),
        "output_norm.weight": (T.F32, [192], "transformer.ln_f.weight", False),
        "output_norm.bias": (T.F32, [192], "transformer.ln_f.bias", False),
    }
    for i in range(4):
        b, h = f"blk.{i}.", f"transformer.h.{i}."
        expected.update({
            b + "attn_norm.weight": (T.F32, [192], h + "ln_1.weight", False),
            b + "attn_norm.bias": (T.F32, [192], h + "ln_1.bias", False),
            b + "attn_qkv.weight": (T.Q8_0, [192, 576], h + "attn.c_attn.weight", True),
            b + "attn_qkv.bias": (T.F32, [576], h + "attn.c_attn.bias", False),
            b + "attn_output.weight": (T.Q5_0, [192, 192], h + "attn.c_proj.weight", True),
            b + "attn_output.bias": (T.F32, [192], h + "attn.c_proj.bias", False),
            b + "ffn_norm.weight": (T.F32, [192], h + "ln_2.weight", False),
            b + "ffn_norm.bias": (T.F32, [192], h + "ln_2.bias", False),
            b + "ffn_up.weight": (T.Q5_0, [192, 768], h + "mlp.c_fc.weight", True),
            b + "ffn_up.bias": (T.F32, [768], h + "mlp.c_fc.bias", False),
            b + "ffn_down.weight": (T.Q6_K if i >= 2 else T.Q4_K, [768, 192], h + "mlp.c_proj.weight", True),
            b + "ffn_down.bias": (T.F32, [192], h + "mlp.c_proj.bias", False),
        })
    assert sorted(tensors) == sorted(expected)
    for name, (tensor_type, shape, hf_name, transposed) in expected.items():
        t = tensors[name]
        assert t.tensor_type == tensor_type, name
        assert [int(d) for d in t.shape] == shape, name
        want = hf[hf_name].T if transposed else hf[hf_name]
        check_close(name, dequantized(t), want, tensor_type)


@pytest.mark.parametrize("recipe,file_type", [("q8_0", 7), ("q4_k_m", 15)])
def test_llama_rows_are_permuted_like_the_converter(tmp_path, recipe, file_type):
    model = os.path.join(DATA, "models", "llama")
    reader = quantize(tmp_path, model, recipe, "--no-tokenizer")
    assert field(reader, "general.file_type") == file_type
    assert field(reader, "llama.attention.head_count") == 4
    assert field(reader, "llama.attention.head_count_kv") == 2
    assert field(reader, "llama.rope.dimension_count") == 10
    assert "tokenizer.ggml.model" not in reader.fields
    hf = hf_weights(model)
    tensors = {t.name: t for t in reader.tensors}
    assert len(tensors) == 3 + 9 * 2
    for i in range(2):
        for gguf_name, hf_name, heads in [("attn_q", "q_proj", 4), ("attn_k", "k_proj", 2), ("attn_v", "v_proj", None)]:
            t = tensors[f"blk.{i}.{gguf_name}.weight"]
            # 40-wide rows fit no block type: the F16 fallback (llama.cpp's too).
            assert t.tensor_type == T.F16
            want = hf[f"model.layers.{i}.self_attn.{hf_name}.weight"]
            if heads:
                want = llama_permute(want, heads)
            check_close(t.name, dequantized(t), want, T.F16)
    assert tensors["output.weight"].tensor_type == T.F16
    assert [int(d) for d in tensors["token_embd.weight"].shape] == [40, 347]
    assert tensors["blk.0.attn_norm.weight"].tensor_type == T.F32


def test_qwen2_keeps_biases_and_byte_level_tokenizer(tmp_path):
    model = os.path.join(DATA, "models", "qwen2")
    reader = quantize(tmp_path, model, "q8_0")
    assert field(reader, "general.architecture") == "qwen2"
    assert field(reader, "tokenizer.ggml.model") == "gpt2"
    assert field(reader, "tokenizer.ggml.eos_token_id") == 316
    hf = hf_weights(model)
    tensors = {t.name: t for t in reader.tensors}
    t = tensors["blk.1.attn_k.bias"]
    assert t.tensor_type == T.F32 and [int(d) for d in t.shape] == [20]
    check_close(t.name, dequantized(t), hf["model.layers.1.self_attn.k_proj.bias"], T.F32)
    t = tensors["blk.1.ffn_down.weight"]
    assert [int(d) for d in t.shape] == [76, 40]
    check_close(t.name, dequantized(t), hf["model.layers.1.mlp.down_proj.weight"], t.tensor_type)
