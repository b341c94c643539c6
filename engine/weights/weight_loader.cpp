#include "engine/weights/weight_loader.h"

#include <algorithm>
#include <cstring>

#include "engine/core/error.h"
#include "engine/core/half.h"
#include "engine/vk/device.h"
#include "engine/weights/block_formats.h"
#include "engine/weights/quantize.h"

namespace vkinfer {
namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

void WeightLoader::expect_shape(const std::string& name, const std::vector<int64_t>& shape) const {
  // Shard files hold canonical names; read_whole checks their shapes.
  if (mode_ == LoadMode::kShardRead) return;
  const TensorInfo& info = checkpoint_.info(name);
  if (info.shape != shape)
    fail(ErrorCode::kShapeMismatch,
         "{}: tensor '{}' has shape {} but config.json implies {}. HINT: the "
         "config does not belong to these weights", checkpoint_.dir().string(), name,
         shape_string(info.shape), shape_string(shape));
}

void WeightLoader::read_slice(const LinearSlice& slice, float* dst) const {
  if (!slice.conv1d) {
    checkpoint_.read(slice.name, DType::kF32, dst, slice.row_begin, slice.row_count,
                     slice.col_begin, slice.col_count, slice.col_count);
    return;
  }
  // Conv1D stores [in, out]: read the transposed window, then transpose.
  std::vector<float> stored(slice.col_count * slice.row_count);
  checkpoint_.read(slice.name, DType::kF32, stored.data(), slice.col_begin, slice.col_count,
                   slice.row_begin, slice.row_count, slice.row_count);
  for (int64_t i = 0; i < slice.col_count; ++i)
    for (int64_t o = 0; o < slice.row_count; ++o)
      dst[o * slice.col_count + i] = stored[i * slice.row_count + o];
}

Weight WeightLoader::to_device(int64_t rows, int64_t cols, const std::vector<float>& host) const {
  return create_weight_from_f32(*device_, dtype_, rows, cols, host);
}

Tensor WeightLoader::vector_to_device(std::vector<float> host, float add) const {
  // fp32, as transformers computes 1.0 + weight.float().
  if (add != 0.0f)
    for (float& x : host) x += add;
  Tensor tensor = Tensor::create(*device_, 1, static_cast<int64_t>(host.size()));
  tensor.upload(*device_, host);
  return tensor;
}

std::vector<float> WeightLoader::read_whole(const std::string& key, int64_t rows, int64_t cols) const {
  const TensorInfo& info = checkpoint_.info(key);
  const std::vector<int64_t> expected = rows == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{rows, cols};
  if (info.shape != expected)
    fail(ErrorCode::kShapeMismatch,
         "{}: shard tensor '{}' has shape {} but this rank needs {}. HINT: the shard was made "
         "for another model or tp degree; re-run `vkinfer shard`", checkpoint_.dir().string(), key,
         shape_string(info.shape), shape_string(expected));
  std::vector<float> host(rows * cols);
  checkpoint_.read(key, DType::kF32, host.data(), 0, rows, 0, cols, cols);
  return host;
}

WeightFormat WeightLoader::format_for(const LinearSlice& slice) const {
  if (const std::optional<GgmlType> type = checkpoint_.block_type(slice.name)) return weight_format(*type);
  if (quant_ && slice.quantize)
    return weight_format(quant_type_for(quant_->recipe, slice.quant_kind, slice.layer, quant_->num_layers,
                                        slice.col_count, quant_->tied_output));
  return weight_format(dtype_);
}

Weight WeightLoader::to_device_parts(const std::vector<LinearSlice>& slices, int64_t pad_rows) const {
  // Consecutive windows of one format become one part (one dispatch per
  // chunk); each part's writer walks its windows.
  struct Run {
    WeightFormat format;
    std::vector<const LinearSlice*> windows;
    int64_t rows = 0;
  };
  std::vector<Run> runs;
  for (const LinearSlice& slice : slices) {
    const WeightFormat format = format_for(slice);
    if (runs.empty() || !(runs.back().format == format)) runs.push_back({format, {}, 0});
    runs.back().windows.push_back(&slice);
    runs.back().rows += slice.row_count;
  }
  runs.back().rows += pad_rows;  // zero rows: zero blocks dequantize to 0
  const int64_t cols = slices.front().col_count;
  std::vector<WeightPart> parts;
  for (const Run& run : runs) {
    const WeightFormat format = run.format;
    const std::vector<const LinearSlice*> windows = run.windows;
    auto write = [this, format, windows, cols](int64_t begin, int64_t count, void* dst, int64_t stride) {
      const uint64_t row_bytes = format.row_bytes(stride);
      int64_t window_first = 0;  // the part row where the current window starts
      for (const LinearSlice* window : windows) {
        const int64_t lo = std::max(begin, window_first);
        const int64_t hi = std::min(begin + count, window_first + window->row_count);
        if (lo < hi) {
          uint8_t* out = static_cast<uint8_t*>(dst) + (lo - begin) * row_bytes;
          LinearSlice rows = *window;
          rows.row_begin += lo - window_first;
          rows.row_count = hi - lo;
          if (checkpoint_.block_type(rows.name)) {
            checkpoint_.read_blocks(rows.name, rows.row_begin, rows.row_count, rows.col_begin, rows.col_count,
                                    out, row_bytes);
          } else {
            std::vector<float> host(rows.row_count * cols);
            read_slice(rows, host.data());
            const GgmlType type = ggml_type(format);
            for (int64_t r = 0; r < rows.row_count; ++r)
              quantize_rows(type, host.data() + r * cols, 1, cols, out + r * row_bytes);
          }
        }
        window_first += window->row_count;
      }
    };
    parts.push_back(WeightPart{format, run.rows, write});
  }
  return create_weight(*device_, cols, parts);
}

Weight WeightLoader::linear(const std::string& key, const std::vector<LinearSlice>& slices,
                            int64_t pad_rows) const {
  const int64_t cols = slices.at(0).col_count;
  int64_t rows = pad_rows;
  bool blocks = false;
  for (const auto& slice : slices) {
    if (slice.col_count != cols) fail(ErrorCode::kInternal, "stacked slices disagree in width");
    rows += slice.row_count;
    if (mode_ == LoadMode::kDevice && checkpoint_.block_type(slice.name)) blocks = true;
  }
  if (mode_ == LoadMode::kShardRead) return to_device(rows, cols, read_whole(key, rows, cols));
  // Block tensors (a GGUF file) and --quant: each window in its own format.
  if (mode_ == LoadMode::kDevice && (blocks || quant_)) return to_device_parts(slices, pad_rows);
  std::vector<float> host(rows * cols, 0.0f);
  int64_t row = 0;
  for (const auto& slice : slices) {
    read_slice(slice, host.data() + row * cols);
    row += slice.row_count;
  }
  if (mode_ == LoadMode::kShardWrite) {
    sink_->add(key, rows, cols, std::move(host));
    return {};
  }
  return to_device(rows, cols, host);
}

Weight WeightLoader::linear(const std::vector<LinearSlice>& slices, int64_t pad_rows) const {
  return linear(slices.at(0).name, slices, pad_rows);
}

Tensor WeightLoader::vectors(const std::string& key,
                             const std::vector<std::tuple<std::string, int64_t, int64_t>>& parts) const {
  int64_t total = 0;
  for (const auto& part : parts) total += std::get<2>(part);
  if (mode_ == LoadMode::kShardRead) return vector_to_device(read_whole(key, 1, total));
  std::vector<float> host;
  for (const auto& [name, begin, count] : parts) {
    size_t at = host.size();
    host.resize(at + count);
    checkpoint_.read(name, DType::kF32, host.data() + at, 0, 1, begin, count, count);
  }
  if (mode_ == LoadMode::kShardWrite) {
    sink_->add(key, 1, total, std::move(host));
    return {};
  }
  return vector_to_device(host);
}

Tensor WeightLoader::vectors(const std::vector<std::tuple<std::string, int64_t, int64_t>>& parts) const {
  return vectors(std::get<0>(parts.at(0)), parts);
}

Tensor WeightLoader::vector(const std::string& key, const std::string& name, int64_t begin,
                            int64_t count, int64_t pad, float add) const {
  if (mode_ == LoadMode::kShardRead) return vector_to_device(read_whole(key, 1, count + pad), add);
  std::vector<float> host(count + pad, 0.0f);
  checkpoint_.read(name, DType::kF32, host.data(), 0, 1, begin, count, count);
  if (mode_ == LoadMode::kShardWrite) {
    sink_->add(key, 1, count + pad, std::move(host));
    return {};
  }
  return vector_to_device(std::move(host), add);
}

Tensor WeightLoader::vector(const std::string& name, int64_t begin, int64_t count, int64_t pad) const {
  return vector(name, name, begin, count, pad);
}

Tensor WeightLoader::zeros(int64_t count) const {
  return vector_to_device(std::vector<float>(count, 0.0f));
}

}  // namespace vkinfer
