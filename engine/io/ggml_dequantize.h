// The host reference for turning GGUF block formats (ggml_types.h: a row is
// a run of blocks of `block_elements` weights in `block_bytes` bytes, scales
// inside) back into fp32. It lives in engine/io beside the block layouts
// because the GGUF checkpoint dequantizes on read(); engine/weights/
// block_formats.h re-exports it for the GPU path and its tests.
// The dequantizers are plain scalar C++, written to compute in the same
// order as the `gguf` Python package (gguf/quants.py), so they are the
// reference the GPU kernels are tested against; they are not meant to be fast.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/io/ggml_types.h"

namespace vkinfer {

// Dequantizes whole blocks: `bytes` must hold exactly
// out.size() / block_elements blocks, and out.size() must be a multiple of
// block_elements; kInternal otherwise (callers size both from one shape).
// Works for one row, many rows or a whole tensor alike, since a tensor's
// rows are contiguous runs of blocks.
void dequantize(GgmlType type, std::span<const uint8_t> bytes, std::span<float> out);
std::vector<float> dequantize(GgmlType type, std::span<const uint8_t> bytes, int64_t count);

}  // namespace vkinfer
