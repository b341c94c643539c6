#!/usr/bin/env python3
"""Goldens for tests/block_formats_test.cpp and tests/gguf_test.cpp, made
with the `gguf` package (llama.cpp's gguf-py, the reference reader/writer):

  blocks.json     per tensor type: random block bytes (fp16 scale fields set
                  to finite values) and gguf.quants.dequantize() of them, both
                  as hex (fp32 little-endian for the values, so no decimal
                  rounding gets in the way).
  small.gguf      written by gguf.GGUFWriter: metadata of every value type
                  (nested arrays too), tensors of every type vkinfer reads in
                  several shapes, general.alignment = 64.
  small.json      what small.gguf must read back as: every key, type and
                  value, every tensor's dims (GGUF order), type, bytes and
                  dequantized values.
  minimal.gguf    one F32 tensor, default alignment, no extra metadata.

Run from the repo root (deterministic: fixed seed):
  .venv/bin/pip install --no-deps gguf   # 0.19.0 made the committed files
  .venv/bin/python tests/data/gguf/make_gguf_goldens.py
"""
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V
from gguf.constants import GGML_QUANT_SIZES

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20)

# Byte offsets of the fp16 scale fields inside one block.
HALF_FIELDS = {T.Q8_0: [0], T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2],
               T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
TYPES = [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q4_K, T.Q6_K, T.Q5_K]


def finite_halves(n):
    """fp16 scales: mostly ordinary magnitudes, some subnormal, both signs."""
    values = rng.normal(0.0, 0.05, n).astype(np.float16)
    values[::5] = (rng.integers(1, 1024, len(values[::5])) * 2.0**-24).astype(np.float16)
    return values


def random_blocks(qtype, n_blocks):
    """Bytes of n_blocks blocks, or of n_blocks*... plain elements."""
    block, size = GGML_QUANT_SIZES[qtype]
    if qtype == T.F32:
        return rng.normal(0, 1, n_blocks).astype(np.float32).view(np.uint8)
    if qtype == T.F16:
        return finite_halves(n_blocks).view(np.uint8)
    if qtype == T.BF16:
        bits = (rng.normal(0, 1, n_blocks).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        return bits.view(np.uint8)
    data = rng.integers(0, 256, (n_blocks, size), dtype=np.uint8)
    for offset in HALF_FIELDS[qtype]:
        data[:, offset:offset + 2] = finite_halves(n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return data.reshape(-1)


def dequantized(qtype, data):
    values = gguf.quants.dequantize(data, qtype).astype(np.float32, copy=False)
    assert np.all(np.isfinite(values))
    return values.reshape(-1)


def block_goldens():
    cases = []
    for qtype in TYPES:
        block, _ = GGML_QUANT_SIZES[qtype]
        n = 16 if block == 1 else (5 if block == 32 else 3)
        data = random_blocks(qtype, n)
        values = dequantized(qtype, data)
        cases.append({"type": qtype.name, "ggml_type": int(qtype), "elements": int(values.size),
                      "bytes": data.tobytes().hex(), "values": values.astype("<f4").tobytes().hex()})
    with open(os.path.join(HERE, "blocks.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)


# (name, type, numpy-order shape [.., rows, cols])
TENSORS = [
    ("token_embd.weight", T.F32, (3, 5)),
    ("blk.0.f16", T.F16, (2, 8)),
    ("blk.0.bf16", T.BF16, (4, 6)),
    ("blk.0.q8_0", T.Q8_0, (3, 64)),
    ("blk.0.q4_0", T.Q4_0, (2, 32)),
    ("blk.0.q4_1", T.Q4_1, (2, 64)),
    ("blk.0.q5_0", T.Q5_0, (1, 32)),
    ("blk.0.q5_1", T.Q5_1, (2, 32)),
    ("blk.0.q4_k", T.Q4_K, (2, 256)),
    ("blk.0.q6_k", T.Q6_K, (1, 512)),
    ("blk.0.q5_k", T.Q5_K, (1, 256)),
    ("blk.0.cube.q8_0", T.Q8_0, (2, 3, 32)),
    ("output_norm.weight", T.F32, (7,)),
]

# (key, value type, value, array element type or None)
METADATA = [
    ("test.u8", V.UINT8, 200, None),
    ("test.i8", V.INT8, -100, None),
    ("test.u16", V.UINT16, 60000, None),
    ("test.i16", V.INT16, -30000, None),
    ("test.u32", V.UINT32, 4000000000, None),
    ("test.i32", V.INT32, -2000000000, None),
    ("test.f32", V.FLOAT32, 0.1, None),
    ("test.bool", V.BOOL, True, None),
    ("test.string", V.STRING, "h\u00e9llo, \u4e16\u754c", None),
    ("test.u64", V.UINT64, 18000000000000000000, None),
    ("test.i64", V.INT64, -9000000000000000000, None),
    ("test.f64", V.FLOAT64, 2.718281828459045, None),
    ("test.strings", V.ARRAY, ["a", "", "b\nc", "\u00fc"], V.STRING),
    ("test.ints", V.ARRAY, [1, -2, 3], V.INT32),
    ("test.bytes", V.ARRAY, [0, 255, 7], V.UINT8),
    ("test.u64s", V.ARRAY, [1, 2**40], V.UINT64),
    ("test.floats", V.ARRAY, [0.5, -1.25, 1e-3], V.FLOAT32),
    ("test.bools", V.ARRAY, [False, True], V.BOOL),
    ("test.nested", V.ARRAY, [[1, 2], [3]], V.ARRAY),
]


def expected_value(vtype, value, sub_type):
    if vtype == V.FLOAT32:
        return float(np.float32(value))
    if vtype == V.ARRAY:
        if sub_type == V.ARRAY:
            inner = [expected_value(V.ARRAY, v, V.INT32) for v in value]
            return {"element_type": "ARRAY", "values": inner}
        return {"element_type": sub_type.name, "values": [expected_value(sub_type, v, None) for v in value]}
    return value


def write_small():
    path = os.path.join(HERE, "small.gguf")
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_custom_alignment(64)
    for key, vtype, value, sub_type in METADATA:
        writer.add_key_value(key, value, vtype, sub_type=sub_type)
    expected_tensors = []
    for name, qtype, shape in TENSORS:
        block, size = GGML_QUANT_SIZES[qtype]
        count = int(np.prod(shape))
        data = random_blocks(qtype, count // block)
        byte_shape = shape[:-1] + (shape[-1] // block * size,)
        if qtype == T.F32:
            writer.add_tensor(name, data.view(np.float32).reshape(shape))
        elif qtype == T.F16:
            writer.add_tensor(name, data.view(np.float16).reshape(shape))
        else:
            writer.add_tensor(name, data.reshape(byte_shape), raw_dtype=qtype)
        expected_tensors.append({
            "name": name, "type": qtype.name, "dims": list(reversed(shape)),
            "bytes": data.tobytes().hex(),
            "values": dequantized(qtype, data.reshape(byte_shape)).astype("<f4").tobytes().hex()})
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    # Read back with the package's own reader, so the expectations below are
    # what the reference sees, not what we meant to write.
    reader = gguf.GGUFReader(path)
    assert reader.alignment == 64
    names = [t.name for t in reader.tensors]
    assert names == [t[0] for t in TENSORS], names
    for t, e in zip(reader.tensors, expected_tensors):
        assert bytes(t.data.reshape(-1).view(np.uint8)) == bytes.fromhex(e["bytes"]), t.name
        assert list(int(d) for d in t.shape) == e["dims"], (t.name, t.shape)
    metadata = [{"key": "general.architecture", "type": "STRING", "value": "llama"},
                {"key": "general.alignment", "type": "UINT32", "value": 64}]
    metadata += [{"key": k, "type": vt.name, "value": expected_value(vt, v, st)} for k, vt, v, st in METADATA]
    assert [f.name for f in reader.fields.values()][3:] == [m["key"] for m in metadata], list(reader.fields)
    with open(os.path.join(HERE, "small.json"), "w") as f:
        json.dump({"version": 3, "alignment": 64, "metadata": metadata, "tensors": expected_tensors}, f,
                  indent=1, ensure_ascii=True)


def write_minimal():
    writer = gguf.GGUFWriter(os.path.join(HERE, "minimal.gguf"), "llama")
    writer.add_tensor("x", np.arange(8, dtype=np.float32).reshape(2, 4))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    block_goldens()
    write_small()
    write_minimal()
