// GGUF tensor types (ggml's numbering) and their block layouts: each row of
// a tensor is a run of blocks of `block_elements` weights in `block_bytes`
// bytes, scales inside. The GGUF reader needs these to check a tensor's
// size against its shape, so they live here beside it (engine/io includes
// only engine/core); engine/weights/block_formats.h dequantizes the blocks
// and maps each type to its WeightFormat.
#pragma once

#include <cstdint>

namespace vkinfer {

// ggml_type values for the types vkinfer reads. Numbers are fixed by the
// GGUF format (ggml.h); the gaps are types vkinfer refuses.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
};

struct BlockFormat {
  GgmlType type;
  const char* name;  // ggml's spelling: "Q4_K"
  int64_t block_elements;
  int64_t block_bytes;
};

// nullptr when vkinfer does not read tensors of ggml type `type` (a type it
// knows the name of, such as IQ2_XXS, or a number it has never heard of).
const BlockFormat* find_block_format(uint32_t type);
const BlockFormat& block_format(GgmlType type);
// ggml's name for any ggml type number ("IQ2_XXS"), or "unknown".
const char* ggml_type_name(uint32_t type);

}  // namespace vkinfer
