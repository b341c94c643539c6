// A weight's device format, kept apart from the element type of the file it
// came from: a bf16 checkpoint loads as f32 or f16 on the device (--dtype),
// and a block-quantized file (GGUF q8_0, q4_k) would keep its blocks. A
// format says how a row of weights becomes bytes: blocks of
// `block_elements` weights, `block_bytes` each, with the blocks' scales
// either absent (plain formats: blocks of one element), inside each block
// (GGUF) or in an array beside the weights (per-group scales, AWQ/GPTQ
// style). Kernels read f32, f16 and the GGUF block formats (the device keeps
// blocks split into quants and scales: block_layout.h); --dtype names the
// plain ones and --quant (quant_recipe.h) the block ones.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/core/dtype.h"

namespace vkinfer {

enum class ScaleLayout : uint8_t {
  kNone,      // plain elements
  kInBlock,   // each block carries its own scale(s)
  kSeparate,  // a scale array beside the weights, one per block of a row
};

enum class WeightFormatId : uint8_t {
  kF32, kF16, kBF16,
  // GGUF's in-block formats (ggml's names); see block_formats.h.
  kQ8_0, kQ4_0, kQ4_1, kQ5_0, kQ5_1, kQ4_K, kQ6_K, kQ5_K,
};

struct WeightFormat {
  WeightFormatId id = WeightFormatId::kF32;
  const char* name = "f32";     // the --dtype spelling
  int64_t block_elements = 1;   // weights per block along a row
  int64_t block_bytes = 4;      // bytes per block, in-block scales included
  ScaleLayout scales = ScaleLayout::kNone;

  bool plain() const { return block_elements == 1 && scales == ScaleLayout::kNone; }
  // The element type a kernel widens from; kUnsupported for block formats.
  DType element() const;
  // Columns a row is padded to: a whole number of blocks and a multiple of
  // 8 elements (the vec4/texel readers' granularity).
  int64_t padded_cols(int64_t cols) const;
  // Bytes of one row of `cols` weights (cols a multiple of block_elements),
  // in-block scales included, the separate scale array not.
  uint64_t row_bytes(int64_t cols) const;
};

inline bool operator==(const WeightFormat& a, const WeightFormat& b) { return a.id == b.id; }

const WeightFormat& weight_format(WeightFormatId id);
// The device format that holds `dtype` elements as they are.
const WeightFormat& weight_format(DType dtype);
// "f32" | "f16" | "bf16" (the plain formats; block formats come from
// --quant or a GGUF file); kInvalidArgument naming the known formats otherwise.
const WeightFormat& parse_weight_format(std::string_view name);

}  // namespace vkinfer
