// Device tensors. Activations are fp32, row-major [rows, cols] with a row
// stride of `cols`. Weights are matrices [rows, cols] (rows = output features,
// as nn.Linear stores them) kept in a device WeightFormat (fp32, fp16 or a
// GGUF block format; weight_format.h), each row padded to a multiple of 8
// elements and of the block size, and split by rows into chunks that each
// fit the device's maxStorageBufferRange and maxTexelBufferElements, so a 154 MB
// embedding works on a device that binds at most 128 MiB at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/weights/weight_format.h"
#include "engine/vk/buffer.h"

namespace vkinfer {

namespace vk {
class Device;
}

struct Tensor {
  vk::Buffer buffer;
  int64_t rows = 0;
  int64_t cols = 0;

  static Tensor create(vk::Device& device, int64_t rows, int64_t cols);
  int64_t elements() const { return rows * cols; }
  uint64_t bytes() const { return static_cast<uint64_t>(elements()) * 4u; }
  void upload(vk::Device& device, const std::vector<float>& values);
  std::vector<float> download(vk::Device& device) const;
};

struct WeightChunk {
  // The chunk's own format: a stacked weight (q|k|v, say) may hold parts of
  // different block formats, as a Q4_K_M file's attn_q (Q4_K) and attn_v
  // (Q6_K) do; a chunk never spans two parts, and ops pick the kernel per
  // chunk.
  WeightFormat format;
  vk::Buffer buffer;  // the rows; for block formats their quants (block_layout.h)
  vk::Buffer meta;    // block formats: the rows' scales; empty otherwise
  int64_t row_begin = 0;
  int64_t row_count = 0;
};

struct Weight {
  WeightFormat format;  // the device format of the first part (see WeightChunk::format)
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t row_stride = 0;  // elements, multiple of 8 (format.padded_cols)
  std::vector<WeightChunk> chunks;

  bool empty() const { return rows == 0; }
  bool mixed() const;      // chunks of more than one format
  uint64_t bytes() const;  // device bytes, padding included
};

// Fills `row_count` rows starting at `row_begin` into `dst` (rows of
// `row_stride` elements in the weight's format; the padding is pre-zeroed).
// Block formats are written as GGUF blocks (format.row_bytes(row_stride)
// bytes a row); create_weight moves them into the device layout.
using RowWriter = std::function<void(int64_t row_begin, int64_t row_count, void* dst,
                                     int64_t row_stride)>;

// One run of rows in one format, for weights stacked from several tensors.
// `write_rows` gets row numbers relative to the part.
struct WeightPart {
  WeightFormat format;
  int64_t rows = 0;
  RowWriter write_rows;
};

// Rows per chunk so that a chunk fits every binding limit of the device.
int64_t max_rows_per_chunk(const vk::Device& device, const WeightFormat& format, int64_t row_stride);

// kUnsupported for bf16 (widened at load). Rows are padded to a multiple of
// 8 elements and of every part's block size.
Weight create_weight(vk::Device& device, int64_t cols, const std::vector<WeightPart>& parts,
                     int64_t max_chunk_rows = 0);
Weight create_weight(vk::Device& device, const WeightFormat& format, int64_t rows, int64_t cols,
                     const RowWriter& write_rows, int64_t max_chunk_rows = 0);
inline Weight create_weight(vk::Device& device, DType dtype, int64_t rows, int64_t cols,
                            const RowWriter& write_rows, int64_t max_chunk_rows = 0) {
  return create_weight(device, weight_format(dtype), rows, cols, write_rows, max_chunk_rows);
}

// Convenience for tests: from fp32 host rows [rows, cols].
Weight create_weight_from_f32(vk::Device& device, DType dtype, int64_t rows, int64_t cols,
                              const std::vector<float>& values, int64_t max_chunk_rows = 0);

}  // namespace vkinfer
