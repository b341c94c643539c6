// Minimal NumPy .npy reader/writer for golden tensors made by Python.
//
// Reads format versions 1-3 holding little-endian float32, int32 or int64
// C-order arrays (what `np.save` writes for the goldens), validating the
// header and size against the file. Writes float32 arrays in version 1.0, so
// `np.load` can read what our tools dump.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace vkinfer {

enum class NpyDType { kF32, kI32, kI64 };

struct NpyArray {
  std::vector<int64_t> shape;     // () for a scalar
  NpyDType dtype = NpyDType::kF32;
  std::vector<float> data;        // every element as f32 (ints converted)
  std::vector<int64_t> int_data;  // exact values for int32/int64 files; empty for f32
};

// kBadFile naming the file for anything but a well-formed array as above,
// kUnsupported for other dtypes, big-endian or Fortran order.
NpyArray read_npy(const std::filesystem::path& path);

void write_npy_f32(const std::filesystem::path& path, const std::vector<int64_t>& shape,
                   const float* data);

}  // namespace vkinfer
