// The table of device weight formats (weight_format.h).
#include "engine/weights/weight_format.h"

#include <numeric>
#include <string>

#include "engine/core/error.h"

namespace vkinfer {
namespace {

constexpr WeightFormat kFormats[] = {
    {WeightFormatId::kF32, "f32", 1, 4, ScaleLayout::kNone},
    {WeightFormatId::kF16, "f16", 1, 2, ScaleLayout::kNone},
    {WeightFormatId::kBF16, "bf16", 1, 2, ScaleLayout::kNone},
};

}  // namespace

DType WeightFormat::element() const {
  if (!plain()) fail(ErrorCode::kUnsupported, "weight format {} is block-quantized: it has no element type", name);
  switch (id) {
    case WeightFormatId::kF32: return DType::kF32;
    case WeightFormatId::kF16: return DType::kF16;
    case WeightFormatId::kBF16: return DType::kBF16;
  }
  fail(ErrorCode::kInternal, "weight format {} has no element type", name);
}

int64_t WeightFormat::padded_cols(int64_t cols) const {
  const int64_t unit = std::lcm(block_elements, int64_t{8});
  return (cols + unit - 1) / unit * unit;
}

uint64_t WeightFormat::row_bytes(int64_t cols) const {
  if (cols % block_elements != 0)
    fail(ErrorCode::kInternal, "a row of {} weights is not whole {}-weight blocks of {}", cols,
         block_elements, name);
  return static_cast<uint64_t>(cols / block_elements) * static_cast<uint64_t>(block_bytes);
}

const WeightFormat& weight_format(WeightFormatId id) {
  for (const WeightFormat& format : kFormats)
    if (format.id == id) return format;
  fail(ErrorCode::kInternal, "unknown weight format id {}", static_cast<int>(id));
}

const WeightFormat& weight_format(DType dtype) {
  switch (dtype) {
    case DType::kF32: return weight_format(WeightFormatId::kF32);
    case DType::kF16: return weight_format(WeightFormatId::kF16);
    case DType::kBF16: return weight_format(WeightFormatId::kBF16);
  }
  fail(ErrorCode::kInternal, "unknown dtype {}", static_cast<int>(dtype));
}

const WeightFormat& parse_weight_format(std::string_view name) {
  std::string known;
  for (const WeightFormat& format : kFormats) {
    if (name == format.name) return format;
    known += known.empty() ? format.name : std::string(", ") + format.name;
  }
  fail(ErrorCode::kInvalidArgument, "unknown weight format '{}' (known: {})", name, known);
}

}  // namespace vkinfer
