#include "engine/weights/tensor_plan.h"

#include <tuple>

#include "engine/core/error.h"

namespace vkinfer {

const DimRange& SplitRanges::operator[](Dim dim) const {
  switch (dim) {
    case Dim::kQueryHeads: return query_heads;
    case Dim::kKvHeads: return kv_heads;
    case Dim::kIntermediate: return intermediate;
    case Dim::kVocab: return vocab;
    case Dim::kWhole: break;
  }
  fail(ErrorCode::kInternal, "the whole of a dimension has no rank range");
}

namespace {

// The source windows of one part along its split axis: [first, +count) in
// source rows (or elements), merged where the part is contiguous.
std::vector<std::pair<int64_t, int64_t>> part_windows(const PlannedPart& part, Split split,
                                                      const SplitRanges& ranges) {
  const bool divided = split == Split::kColumn || split == Split::kVocab;
  if (!divided || part.dim == Dim::kWhole) {
    if (divided && part.dim == Dim::kWhole)
      fail(ErrorCode::kInternal, "a split tensor's part '{}' names no dimension", part.source);
    return {{part.offset, part.count * part.unit}};
  }
  const DimRange& range = ranges[part.dim];
  const int64_t stride = part.stride ? part.stride : part.unit;
  if (stride == part.unit) return {{part.offset + range.begin * part.unit, range.count * part.unit}};
  std::vector<std::pair<int64_t, int64_t>> windows;
  for (int64_t i = range.begin; i < range.begin + range.count; ++i)
    windows.emplace_back(part.offset + i * stride, part.unit);
  return windows;
}

void check_shapes(const WeightLoader& loader, const PlannedTensor& tensor) {
  for (const PlannedPart& part : tensor.parts) loader.expect_shape(part.source, part.shape);
}

}  // namespace

TensorSlices slices(const PlannedTensor& tensor, const SplitRanges& ranges) {
  TensorSlices out;
  if (tensor.split == Split::kVocab) out.pad_rows = ranges.vocab_padding;
  if (tensor.kind == TensorKind::kVector) {
    // A row-parallel bias is added once, by rank 0, after the all-reduce.
    if (tensor.split == Split::kRow && !ranges.holds_row_bias) return out;
    for (const PlannedPart& part : tensor.parts)
      for (const auto& [first, count] : part_windows(part, tensor.split, ranges))
        out.windows.push_back({part.source, false, 0, 1, first, count});
    return out;
  }
  int64_t col_begin = 0, col_count = tensor.cols;
  if (tensor.split == Split::kRow) {
    const DimRange& range = ranges[tensor.col_dim];
    col_begin = range.begin * tensor.col_unit;
    col_count = range.count * tensor.col_unit;
  }
  for (const PlannedPart& part : tensor.parts)
    for (const auto& [first, count] : part_windows(part, tensor.split, ranges))
      out.windows.push_back({part.source, tensor.conv1d, first, count, col_begin, col_count,
                             part.quant_kind, tensor.layer, part.quantize});
  return out;
}

Weight load_matrix(const WeightLoader& loader, const PlannedTensor& tensor, const SplitRanges& ranges) {
  if (tensor.kind != TensorKind::kMatrix)
    fail(ErrorCode::kInternal, "planned tensor '{}' is not a matrix", tensor.key);
  check_shapes(loader, tensor);
  const TensorSlices s = slices(tensor, ranges);
  return loader.linear(tensor.key, s.windows, s.pad_rows);
}

Tensor load_vector(const WeightLoader& loader, const PlannedTensor& tensor, const SplitRanges& ranges) {
  if (tensor.kind != TensorKind::kVector)
    fail(ErrorCode::kInternal, "planned tensor '{}' is not a vector", tensor.key);
  check_shapes(loader, tensor);
  const TensorSlices s = slices(tensor, ranges);
  if (s.windows.empty()) return {};
  if (s.windows.size() == 1) {
    const LinearSlice& w = s.windows[0];
    return loader.vector(tensor.key, w.name, w.col_begin, w.col_count, s.pad_rows, tensor.add);
  }
  if (tensor.add != 0.0f) fail(ErrorCode::kInternal, "planned vector '{}': an offset on several parts", tensor.key);
  if (s.pad_rows) fail(ErrorCode::kInternal, "planned vector '{}': padding after several parts", tensor.key);
  std::vector<std::tuple<std::string, int64_t, int64_t>> parts;
  for (const LinearSlice& w : s.windows) parts.emplace_back(w.name, w.col_begin, w.col_count);
  return loader.vectors(tensor.key, parts);
}

}  // namespace vkinfer
