// The host quantizers: fp32 rows -> GGUF blocks (the layouts
// block_formats.cpp dequantizes), for `--quant` loading and for writing
// GGUF files.
//
// Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 are bit-identical to gguf.quants.quantize
// (gguf 0.19, which follows ggml's quantize_row_*_ref): same fp32 operations
// in the same order, the same rounding (round half away from zero for Q8_0,
// trunc(x + 0.5) for the others) and fp16 scales rounded to nearest even.
// Q4_K and Q6_K follow ggml's reference quantizers (quantize_row_q4_K_ref
// with its weighted search over scale and min, make_qkx2_quants;
// quantize_row_q6_K_ref with make_qx_quants). gguf has no quantizer for
// them, so they are checked by round-trip error, not by bytes.
// F32, F16 and BF16 are plain conversions (round to nearest even).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/io/ggml_types.h"

namespace vkinfer {

// Quantizes `rows` rows of `cols` fp32 values (row-major) into dst:
// rows * cols / block_elements * block_bytes bytes. kInvalidArgument when
// cols is not a multiple of the type's block_elements, rows or cols is
// negative, or (block types only) a value is NaN or infinite: a block's
// scale cannot represent it, so quantizing would silently ruin the block.
void quantize_rows(GgmlType type, const float* src, int64_t rows, int64_t cols, uint8_t* dst);
// The same into a new buffer; src must hold exactly rows * cols values.
std::vector<uint8_t> quantize_rows(GgmlType type, std::span<const float> src, int64_t rows,
                                   int64_t cols);

// Bytes that `rows` rows of `cols` weights take in `type` (kInvalidArgument
// when cols is not whole blocks).
uint64_t quantized_bytes(GgmlType type, int64_t rows, int64_t cols);

}  // namespace vkinfer
