// How a GGUF block-quantized weight sits on the device: each block is split
// into its quants and its scales ("meta"), kept in two arrays of the chunk,
// so every shader load is an aligned word or uvec4 (GGUF's 18-, 22-, 34- and
// 210-byte blocks would leave the quants at 2-byte alignment).
// shaders/common/block_weights.glsl reads this layout; the bytes themselves
// are GGUF's, only moved.
#pragma once

#include <cstdint>

#include "engine/weights/weight_format.h"

namespace vkinfer {

struct BlockLayout {
  int64_t quant_bytes = 0;  // per block, a multiple of 16 (uvec4 texels)
  int64_t meta_bytes = 0;   // per block: 2 (Q8_0, Q4_0: d only, two per word) or a multiple of 4
};

// kInternal for a plain format.
BlockLayout device_block_layout(const WeightFormat& format);

// Bytes of the meta array for `blocks` blocks, rounded up to whole words.
uint64_t device_meta_bytes(const WeightFormat& format, int64_t blocks);

// Splits `blocks` consecutive GGUF blocks at `src` into `quants`
// (blocks * quant_bytes) and `meta` (device_meta_bytes); padding bytes in
// meta are written as zero.
void split_blocks(const WeightFormat& format, const uint8_t* src, int64_t blocks, uint8_t* quants,
                  uint8_t* meta);

}  // namespace vkinfer
