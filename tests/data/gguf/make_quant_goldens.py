#!/usr/bin/env python3
"""Goldens for tests/quantize_test.cpp: fp32 rows and what
gguf.quants.quantize (gguf 0.19, which follows ggml's quantize_row_*_ref)
makes of them for the five types vkinfer must match to the bit: Q8_0, Q4_0,
Q4_1, Q5_0, Q5_1.

  quant.json   {"cols": C, "rows": [{"name", "values": fp32 LE hex}],
                "types": [{"type", "ggml_type", "bytes": hex of all rows}]}

The rows are random Gaussians at several scales plus edge cases: all zeros
(+0 and a leading -0, which decides the sign of a zero scale), constant
rows, one huge outlier, negative-only, tiny values (fp16-subnormal scales),
exact ties for the roundings (x / d landing on k + 0.5) and blocks whose
largest magnitude appears twice with both signs (the first one wins).

Run from the repo root (deterministic: fixed seed):
  .venv/bin/python tests/data/gguf/make_quant_goldens.py
"""
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2020)
COLS = 128  # four 32-weight blocks per row
TYPES = [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]


def rows():
    out = []

    def add(name, values):
        values = np.asarray(values, dtype=np.float32).reshape(COLS)
        assert np.all(np.isfinite(values))
        out.append((name, values))

    for i, scale in enumerate([1.0, 0.02, 3.0, 1e-3, 250.0]):
        add(f"gaussian_{i}", rng.normal(0, scale, COLS))
    add("uniform", rng.uniform(-1, 1, COLS))
    add("zeros", np.zeros(COLS))
    neg_zero = np.zeros(COLS, dtype=np.float32)
    neg_zero[::32] = -0.0
    add("negative_zero_first", neg_zero)
    add("constant_positive", np.full(COLS, 0.75))
    add("constant_negative", np.full(COLS, -1.5))
    outlier = rng.normal(0, 1, COLS)
    outlier[37] = 1.0e4
    outlier[100] = -3.0e3
    add("outlier", outlier)
    add("negative_only", -np.abs(rng.normal(0, 1, COLS)) - 0.01)
    add("positive_only", np.abs(rng.normal(0, 1, COLS)) + 0.01)
    add("tiny", rng.normal(0, 1e-6, COLS))
    add("tinier", rng.normal(0, 3e-8, COLS))
    # Ties: with amax 127 (Q8_0: d = 1) or max -8 / -16 (Q4_0 / Q5_0: d = 1)
    # the quotients are the values themselves, halves included.
    ties = rng.integers(-20, 20, COLS).astype(np.float32) / 2
    ties[0], ties[32], ties[64], ties[96] = 127.0, -8.0, -16.0, -127.0
    add("ties", ties)
    halves = (rng.integers(-16, 16, COLS) + 0.5).astype(np.float32)
    add("halves", halves)
    both_signs = rng.normal(0, 1, COLS)
    both_signs[3], both_signs[9] = -5.0, 5.0     # block 0: -5 first
    both_signs[40], both_signs[41] = 5.0, -5.0   # block 1: +5 first
    add("max_both_signs", both_signs)
    step = np.tile(np.arange(32, dtype=np.float32) * 0.1 - 1.6, COLS // 32)
    add("ramp", step)
    sparse = np.zeros(COLS, dtype=np.float32)
    sparse[rng.integers(0, COLS, 6)] = rng.normal(0, 1, 6)
    add("sparse", sparse)
    return out


def main():
    named = rows()
    matrix = np.stack([v for _, v in named]).astype(np.float32)
    types = []
    for qtype in TYPES:
        data = gguf.quants.quantize(matrix, qtype)
        assert data.dtype == np.uint8
        back = gguf.quants.dequantize(data, qtype)
        assert np.all(np.isfinite(back)), qtype.name
        types.append({"type": qtype.name, "ggml_type": int(qtype), "bytes": data.tobytes().hex()})
    golden = {
        "cols": COLS,
        "rows": [{"name": n, "values": v.astype("<f4").tobytes().hex()} for n, v in named],
        "types": types,
    }
    with open(os.path.join(HERE, "quant.json"), "w") as f:
        json.dump(golden, f, indent=1)


if __name__ == "__main__":
    main()
