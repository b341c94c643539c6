"""Writes the numpy-made .npy fixtures read by tests/npy_test.cpp.

Values are simple formulas (the test recomputes them) so the fixtures stay
tiny and reviewable. Run: /work/main/.venv/bin/python tests/data/npy/make_npy.py
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def main():
    f32 = (np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.25) - np.float32(1.0))
    np.save(path("f32_2x3.npy"), f32)
    np.save(path("i64_4.npy"), np.array([0, -7, 50256, 2**40], dtype=np.int64))
    np.save(path("i32_2x2.npy"), np.array([[1, -2], [3, 2**31 - 1]], dtype=np.int32))
    np.save(path("f32_scalar.npy"), np.float32(3.5))
    np.save(path("f32_empty_0x5.npy"), np.zeros((0, 5), dtype=np.float32))
    with open(path("f32_v2_3.npy"), "wb") as f:
        np.lib.format.write_array(f, np.array([1.5, -2.0, 1e-30], dtype=np.float32), version=(2, 0))
    np.save(path("f32_fortran.npy"), np.asfortranarray(f32))
    np.save(path("f32_bigendian.npy"), f32.astype(">f4"))
    np.save(path("f64_2x3.npy"), f32.astype(np.float64))


if __name__ == "__main__":
    main()
