"""vkinfer's GGUF writer read by the reference reader, gguf.GGUFReader.

The gguf_writer_test binary (its GgufWriter.FileForPython case) writes a
file with every metadata value type and tensors of every type vkinfer
writes, quantized by vkinfer; next to each tensor X it stores X.src (the
fp32 values that went in) and X.deq (vkinfer's dequantization of X). Here
the gguf package must see the same metadata, and gguf.quants.dequantize(X)
must equal X.deq (the dequantizers agree to the bit; one fp32 rounding of
the largest value is allowed for a compiler fusing a multiply-add, as in
tests/block_formats_test.cpp) and be close to X.src.

Registered in CTest by tests/gguf_writer.cmake, which passes the binary in
VKINFER_GGUF_WRITER_TEST.
"""
import os
import subprocess

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import GGUFValueType as V  # noqa: E402

BINARY = os.environ.get("VKINFER_GGUF_WRITER_TEST")

# What build_file() in tests/gguf_writer_test.cpp adds, in order.
METADATA = [
    ("general.architecture", V.STRING, "llama"),
    ("general.alignment", V.UINT32, 64),
    ("test.u8", V.UINT8, 200),
    ("test.i8", V.INT8, -100),
    ("test.u16", V.UINT16, 60000),
    ("test.i16", V.INT16, -30000),
    ("test.u32", V.UINT32, 4000000000),
    ("test.i32", V.INT32, -2000000000),
    ("test.f32", V.FLOAT32, float(np.float32(0.1))),
    ("test.bool", V.BOOL, True),
    ("test.string", V.STRING, "h\u00e9llo, \u4e16\u754c"),
    ("test.u64", V.UINT64, 18000000000000000000),
    ("test.i64", V.INT64, -9000000000000000000),
    ("test.f64", V.FLOAT64, 2.718281828459045),
    ("test.strings", (V.ARRAY, V.STRING), ["a", "", "b\nc", "\u00fc"]),
    ("test.ints", (V.ARRAY, V.INT32), [1, -2, 3]),
    ("test.bytes", (V.ARRAY, V.UINT8), [0, 255, 7]),
    ("test.u64s", (V.ARRAY, V.UINT64), [1, 2**40]),
    ("test.floats", (V.ARRAY, V.FLOAT32), [0.5, -1.25, float(np.float32(1e-3))]),
    ("test.empty", (V.ARRAY, V.INT64), []),
    ("test.nested", (V.ARRAY, V.ARRAY), None),  # contents() does not unpack nested arrays
]

T = gguf.GGMLQuantizationType
TENSORS = [  # name, type, dims in GGUF order
    ("token_embd.weight", T.F32, [5, 3]),
    ("blk.0.f16", T.F16, [8, 2]),
    ("blk.0.bf16", T.BF16, [6, 4]),
    ("blk.0.attn_q.weight", T.Q8_0, [64, 3]),
    ("blk.0.q4_0", T.Q4_0, [32, 2]),
    ("blk.0.q4_1", T.Q4_1, [64, 2]),
    ("blk.0.q5_0", T.Q5_0, [32, 1]),
    ("blk.0.q5_1", T.Q5_1, [32, 2]),
    ("blk.0.ffn_up.weight", T.Q4_K, [256, 2]),
    ("blk.0.ffn_down.weight", T.Q6_K, [512, 1]),
    ("blk.0.cube", T.Q8_0, [32, 3, 2]),
    ("output_norm.weight", T.F32, [7]),
]


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    if not BINARY:
        pytest.skip("VKINFER_GGUF_WRITER_TEST is not set (run through ctest)")
    path = tmp_path_factory.mktemp("gguf_writer") / "typed.gguf"
    env = dict(os.environ, VKINFER_GGUF_WRITER_OUT=str(path))
    run = subprocess.run([BINARY, "--gtest_filter=GgufWriter.FileForPython"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert path.exists(), run.stdout
    return gguf.GGUFReader(str(path))


def test_metadata(reader):
    assert reader.alignment == 64
    fields = [f for f in reader.fields.values() if not f.name.startswith("GGUF.")]
    assert [f.name for f in fields] == [m[0] for m in METADATA]
    for field, (key, vtype, value) in zip(fields, METADATA):
        types = list(vtype) if isinstance(vtype, tuple) else [vtype]
        assert field.types[0] == types[0], key
        if types[0] == V.ARRAY:
            # parts: key length, key, value type, element type, count, ...
            # (the reader lists no element type in field.types for an empty array).
            assert int(field.parts[3][0]) == types[1], key
        if value is not None:
            assert field.contents() == value, key


def values(reader, name):
    tensor = next(t for t in reader.tensors if t.name == name)
    return gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32).reshape(-1)


def test_tensors(reader):
    by_name = {t.name: t for t in reader.tensors}
    assert [t.name for t in reader.tensors][:len(TENSORS)] == [t[0] for t in TENSORS]
    for name, qtype, dims in TENSORS:
        t = by_name[name]
        assert t.tensor_type == qtype, name
        assert [int(d) for d in t.shape] == dims, name
        assert t.data_offset % 64 == 0, name
        got = values(reader, name)
        deq = values(reader, name + ".deq")
        src = values(reader, name + ".src")
        assert got.size == int(np.prod(dims)), name
        tolerance = float(np.abs(deq).max()) * 2.0**-23
        np.testing.assert_allclose(got, deq, rtol=0, atol=tolerance, err_msg=name)
        # Within the type's precision of what went in (values in [-0.5, 0.5];
        # Q4_0 steps by 0.0625 and may clip one step).
        np.testing.assert_allclose(got, src, rtol=0, atol=0.07, err_msg=name)
