#include "engine/model/weight_loader.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/core/half.h"
#include "engine/vk/device.h"

namespace vkinfer {
namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

void WeightLoader::expect_shape(const std::string& name, const std::vector<int64_t>& shape) const {
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

Weight WeightLoader::linear(const std::vector<LinearSlice>& slices, int64_t pad_rows) const {
  const int64_t cols = slices.at(0).col_count;
  int64_t rows = pad_rows;
  for (const auto& slice : slices) {
    if (slice.col_count != cols)
      fail(ErrorCode::kInternal, "stacked slices disagree in width");
    rows += slice.row_count;
  }
  std::vector<float> host(rows * cols, 0.0f);
  int64_t row = 0;
  for (const auto& slice : slices) {
    read_slice(slice, host.data() + row * cols);
    row += slice.row_count;
  }
  return create_weight_from_f32(device_, dtype_, rows, cols, host);
}

Tensor WeightLoader::vector(const std::string& name, int64_t begin, int64_t count, int64_t pad) const {
  std::vector<float> host(count + pad, 0.0f);
  checkpoint_.read(name, DType::kF32, host.data(), 0, 1, begin, count, count);
  Tensor tensor = Tensor::create(device_, 1, count + pad);
  tensor.upload(device_, host);
  return tensor;
}

Tensor WeightLoader::vectors(const std::vector<std::tuple<std::string, int64_t, int64_t>>& parts) const {
  std::vector<float> host;
  for (const auto& [name, begin, count] : parts) {
    size_t at = host.size();
    host.resize(at + count);
    checkpoint_.read(name, DType::kF32, host.data() + at, 0, 1, begin, count, count);
  }
  Tensor tensor = Tensor::create(device_, 1, static_cast<int64_t>(host.size()));
  tensor.upload(device_, host);
  return tensor;
}

Tensor WeightLoader::zeros(int64_t count) const {
  Tensor tensor = Tensor::create(device_, 1, count);
  tensor.upload(device_, std::vector<float>(count, 0.0f));
  return tensor;
}

}  // namespace vkinfer
