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
    // GGUF block formats: block sizes and bytes as in ggml's GGML_QUANT_SIZES.
    {WeightFormatId::kQ8_0, "q8_0", 32, 34, ScaleLayout::kInBlock},
    {WeightFormatId::kQ4_0, "q4_0", 32, 18, ScaleLayout::kInBlock},
    {WeightFormatId::kQ4_1, "q4_1", 32, 20, ScaleLayout::kInBlock},
    {WeightFormatId::kQ5_0, "q5_0", 32, 22, ScaleLayout::kInBlock},
    {WeightFormatId::kQ5_1, "q5_1", 32, 24, ScaleLayout::kInBlock},
    {WeightFormatId::kQ4_K, "q4_k", 256, 144, ScaleLayout::kInBlock},
    {WeightFormatId::kQ6_K, "q6_k", 256, 210, ScaleLayout::kInBlock},
    {WeightFormatId::kQ5_K, "q5_k", 256, 176, ScaleLayout::kInBlock},
};

}  // namespace

DType WeightFormat::element() const {
  if (!plain()) fail(ErrorCode::kUnsupported, "weight format {} is block-quantized: it has no element type", name);
  switch (id) {
    case WeightFormatId::kF32: return DType::kF32;
    case WeightFormatId::kF16: return DType::kF16;
    case WeightFormatId::kBF16: return DType::kBF16;
    default: break;
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
    if (!format.plain()) continue;
    if (name == format.name) return format;
    known += known.empty() ? format.name : std::string(", ") + format.name;
  }
  fail(ErrorCode::kInvalidArgument, "unknown weight format '{}' (known: {})", name, known);
}

}  // namespace vkinfer
