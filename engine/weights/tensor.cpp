#include "engine/weights/tensor.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "engine/core/error.h"
#include "engine/core/half.h"
#include "engine/vk/device.h"
#include "engine/weights/block_layout.h"

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

bool Weight::mixed() const {
  for (const WeightChunk& chunk : chunks)
    if (!(chunk.format == format)) return true;
  return false;
}

uint64_t Weight::bytes() const {
  uint64_t total = 0;
  for (const WeightChunk& chunk : chunks) total += chunk.buffer.size() + chunk.meta.size();
  return total;
}

namespace {

// Device bytes of one row: the quants for block formats (their scales are a
// separate, smaller buffer).
uint64_t device_row_bytes(const WeightFormat& format, int64_t row_stride) {
  if (format.plain()) return format.row_bytes(row_stride);
  return uint64_t(row_stride / format.block_elements) * uint64_t(device_block_layout(format).quant_bytes);
}

}  // namespace

int64_t max_rows_per_chunk(const vk::Device& device, const WeightFormat& format, int64_t row_stride) {
  const vk::DeviceInfo& info = device.info();
  const uint64_t row_bytes = device_row_bytes(format, row_stride);
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

Weight create_weight(vk::Device& device, int64_t cols, const std::vector<WeightPart>& parts,
                     int64_t max_chunk_rows) {
  if (parts.empty()) fail(ErrorCode::kInternal, "create_weight: no parts");
  Weight weight;
  weight.format = parts.front().format;
  weight.cols = cols;
  int64_t unit = 8;
  for (const WeightPart& part : parts) {
    if (part.format.id == WeightFormatId::kBF16)
      fail(ErrorCode::kUnsupported, "bf16 weights are converted at load time; pass f32 or f16");
    unit = std::lcm(unit, part.format.block_elements);
    weight.rows += part.rows;
  }
  weight.row_stride = (cols + unit - 1) / unit * unit;
  std::vector<uint8_t> staging, blocks;
  int64_t part_begin = 0;
  for (const WeightPart& part : parts) {
    const WeightFormat& format = part.format;
    int64_t chunk_rows = max_rows_per_chunk(device, format, weight.row_stride);
    if (max_chunk_rows > 0) chunk_rows = std::min(chunk_rows, max_chunk_rows);
    const uint64_t row_bytes = format.row_bytes(weight.row_stride);
    for (int64_t begin = 0; begin < part.rows; begin += chunk_rows) {
      WeightChunk chunk;
      chunk.format = format;
      chunk.row_begin = part_begin + begin;
      chunk.row_count = std::min(chunk_rows, part.rows - begin);
      const uint64_t bytes = static_cast<uint64_t>(chunk.row_count) * row_bytes;
      if (format.plain()) {
        chunk.buffer = vk::Buffer::create(device, bytes, vk::MemoryKind::kDevice);
        if (chunk.buffer.mapped()) {
          // Unified memory: the loader writes straight into device memory.
          std::memset(chunk.buffer.mapped(), 0, bytes);
          part.write_rows(begin, chunk.row_count, chunk.buffer.mapped(), weight.row_stride);
        } else {
          staging.assign(bytes, 0);
          part.write_rows(begin, chunk.row_count, staging.data(), weight.row_stride);
          device.upload(chunk.buffer, 0, staging.data(), bytes);
        }
      } else {
        // GGUF blocks (zero blocks pad each row: they dequantize to 0), then
        // split into quants and scales (block_layout.h).
        blocks.assign(bytes, 0);
        part.write_rows(begin, chunk.row_count, blocks.data(), weight.row_stride);
        const int64_t block_count = chunk.row_count * (weight.row_stride / format.block_elements);
        const uint64_t quant_bytes = uint64_t(block_count) * device_block_layout(format).quant_bytes;
        const uint64_t meta_bytes = device_meta_bytes(format, block_count);
        staging.assign(quant_bytes + meta_bytes, 0);
        split_blocks(format, blocks.data(), block_count, staging.data(), staging.data() + quant_bytes);
        chunk.buffer = vk::Buffer::create(device, quant_bytes, vk::MemoryKind::kDevice);
        chunk.meta = vk::Buffer::create(device, meta_bytes, vk::MemoryKind::kDevice);
        device.upload(chunk.buffer, 0, staging.data(), quant_bytes);
        device.upload(chunk.meta, 0, staging.data() + quant_bytes, meta_bytes);
      }
      weight.chunks.push_back(std::move(chunk));
    }
    part_begin += part.rows;
  }
  return weight;
}

Weight create_weight(vk::Device& device, const WeightFormat& format, int64_t rows, int64_t cols,
                     const RowWriter& write_rows, int64_t max_chunk_rows) {
  return create_weight(device, cols, {WeightPart{format, rows, write_rows}}, max_chunk_rows);
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
