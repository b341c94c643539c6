#include "engine/weights/tensor.h"

#include <algorithm>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/half.h"
#include "engine/vk/device.h"

namespace vkinfer {

Tensor Tensor::create(vk::Device& device, int64_t rows, int64_t cols) {
  Tensor tensor;
  tensor.rows = rows;
  tensor.cols = cols;
  const uint64_t bytes = static_cast<uint64_t>(std::max<int64_t>(rows * cols, 1)) * 4u;
  if (bytes > device.info().max_storage_buffer_range)
    fail(ErrorCode::kOutOfMemory,
         "an activation of [{}, {}] ({:.1f} MiB) exceeds the device's "
         "maxStorageBufferRange of {:.1f} MiB. HINT: use a smaller --batch or "
         "--ctx, or more --tp ranks", rows, cols, bytes / 1048576.0,
         device.info().max_storage_buffer_range / 1048576.0);
  tensor.buffer = vk::Buffer::create(device, bytes, vk::MemoryKind::kDevice);
  return tensor;
}

void Tensor::upload(vk::Device& device, const std::vector<float>& values) {
  if (static_cast<int64_t>(values.size()) != elements())
    fail(ErrorCode::kInternal, "tensor upload: {} values for [{}, {}]", values.size(), rows, cols);
  device.upload(buffer, 0, values.data(), values.size() * 4);
}

std::vector<float> Tensor::download(vk::Device& device) const {
  std::vector<float> values(static_cast<size_t>(elements()));
  device.download(buffer, 0, values.data(), values.size() * 4);
  return values;
}

uint64_t Weight::bytes() const {
  return rows == 0 ? 0 : static_cast<uint64_t>(rows) * format.row_bytes(row_stride);
}

int64_t max_rows_per_chunk(const vk::Device& device, const WeightFormat& format, int64_t row_stride) {
  const vk::DeviceInfo& info = device.info();
  const uint64_t row_bytes = format.row_bytes(row_stride);
  uint64_t limit = info.max_storage_buffer_range;
  if (info.enabled.texel_buffers)  // texels are 16 bytes
    limit = std::min<uint64_t>(limit, info.max_vec4_texel_view_bytes());
  limit = std::min<uint64_t>(limit, info.max_memory_allocation_size);
  const int64_t rows = static_cast<int64_t>(limit / row_bytes);
  if (rows < 1)
    fail(ErrorCode::kUnsupported, "one weight row of {} bytes exceeds the device's "
         "binding limit of {} bytes", row_bytes, limit);
  return rows;
}

Weight create_weight(vk::Device& device, const WeightFormat& format, int64_t rows, int64_t cols,
                     const RowWriter& write_rows, int64_t max_chunk_rows) {
  if (format.id == WeightFormatId::kBF16)
    fail(ErrorCode::kUnsupported, "bf16 weights are converted at load time; pass f32 or f16");
  if (!format.plain())
    fail(ErrorCode::kUnsupported, "no kernel reads {} weights yet", format.name);
  Weight weight;
  weight.format = format;
  weight.rows = rows;
  weight.cols = cols;
  weight.row_stride = format.padded_cols(cols);
  int64_t chunk_rows = max_rows_per_chunk(device, format, weight.row_stride);
  if (max_chunk_rows > 0) chunk_rows = std::min(chunk_rows, max_chunk_rows);
  const uint64_t row_bytes = format.row_bytes(weight.row_stride);
  std::vector<uint8_t> staging;
  for (int64_t begin = 0; begin < rows; begin += chunk_rows) {
    WeightChunk chunk;
    chunk.row_begin = begin;
    chunk.row_count = std::min(chunk_rows, rows - begin);
    const uint64_t bytes = static_cast<uint64_t>(chunk.row_count) * row_bytes;
    chunk.buffer = vk::Buffer::create(device, bytes, vk::MemoryKind::kDevice);
    if (chunk.buffer.mapped()) {
      // Unified memory: the loader writes straight into device memory.
      std::memset(chunk.buffer.mapped(), 0, bytes);
      write_rows(begin, chunk.row_count, chunk.buffer.mapped(), weight.row_stride);
    } else {
      staging.assign(bytes, 0);
      write_rows(begin, chunk.row_count, staging.data(), weight.row_stride);
      device.upload(chunk.buffer, 0, staging.data(), bytes);
    }
    weight.chunks.push_back(std::move(chunk));
  }
  return weight;
}

Weight create_weight_from_f32(vk::Device& device, DType dtype, int64_t rows, int64_t cols,
                              const std::vector<float>& values, int64_t max_chunk_rows) {
  if (static_cast<int64_t>(values.size()) != rows * cols)
    fail(ErrorCode::kInternal, "weight from f32: {} values for [{}, {}]", values.size(), rows, cols);
  return create_weight(
      device, dtype, rows, cols,
      [&](int64_t begin, int64_t count, void* dst, int64_t stride) {
        for (int64_t r = 0; r < count; ++r) {
          const float* src = values.data() + (begin + r) * cols;
          if (dtype == DType::kF32) {
            std::memcpy(static_cast<float*>(dst) + r * stride, src, cols * 4);
          } else {
            uint16_t* out = static_cast<uint16_t*>(dst) + r * stride;
            for (int64_t c = 0; c < cols; ++c) out[c] = f32_to_f16(src[c]);
          }
        }
      },
      max_chunk_rows);
}

}  // namespace vkinfer
