// Each ggml type's WeightFormat. The host dequantizers moved to
// engine/io/ggml_dequantize.cpp (the GGUF checkpoint dequantizes on read()).
#include "engine/weights/block_formats.h"

#include "engine/core/error.h"

namespace vkinfer {

const WeightFormat& weight_format(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return weight_format(WeightFormatId::kF32);
    case GgmlType::kF16: return weight_format(WeightFormatId::kF16);
    case GgmlType::kBF16: return weight_format(WeightFormatId::kBF16);
    case GgmlType::kQ8_0: return weight_format(WeightFormatId::kQ8_0);
    case GgmlType::kQ4_0: return weight_format(WeightFormatId::kQ4_0);
    case GgmlType::kQ4_1: return weight_format(WeightFormatId::kQ4_1);
    case GgmlType::kQ5_0: return weight_format(WeightFormatId::kQ5_0);
    case GgmlType::kQ5_1: return weight_format(WeightFormatId::kQ5_1);
    case GgmlType::kQ4_K: return weight_format(WeightFormatId::kQ4_K);
    case GgmlType::kQ5_K: return weight_format(WeightFormatId::kQ5_K);
    case GgmlType::kQ6_K: return weight_format(WeightFormatId::kQ6_K);
  }
  fail(ErrorCode::kInternal, "unknown ggml type {}", static_cast<uint32_t>(type));
}

GgmlType ggml_type(const WeightFormat& format) {
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0,
                        GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K})
    if (weight_format(type) == format) return type;
  fail(ErrorCode::kInternal, "weight format {} has no ggml type", format.name);
}

}  // namespace vkinfer
