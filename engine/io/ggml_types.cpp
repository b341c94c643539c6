// The ggml type table (ggml_types.h). Block sizes and bytes are ggml's
// GGML_QUANT_SIZES; names are ggml's, for every type number so a refusal can
// say what a file holds.
#include "engine/io/ggml_types.h"

#include <iterator>

#include "engine/core/error.h"

namespace vkinfer {
namespace {

constexpr BlockFormat kBlockFormats[] = {
    {GgmlType::kF32, "F32", 1, 4},       {GgmlType::kF16, "F16", 1, 2},
    {GgmlType::kBF16, "BF16", 1, 2},     {GgmlType::kQ8_0, "Q8_0", 32, 34},
    {GgmlType::kQ4_0, "Q4_0", 32, 18},   {GgmlType::kQ4_1, "Q4_1", 32, 20},
    {GgmlType::kQ5_0, "Q5_0", 32, 22},   {GgmlType::kQ5_1, "Q5_1", 32, 24},
    {GgmlType::kQ4_K, "Q4_K", 256, 144}, {GgmlType::kQ5_K, "Q5_K", 256, 176},
    {GgmlType::kQ6_K, "Q6_K", 256, 210},
};

// Index = ggml type number; 4 and 5 (Q4_2, Q4_3) and 31..33, 36..38 (the
// repacked Q4_0/IQ4_NL variants) no longer appear in files.
constexpr const char* kGgmlTypeNames[] = {
    "F32",     "F16",    "Q4_0",    "Q4_1",  "Q4_2",   "Q4_3",   "Q5_0",  "Q5_1",
    "Q8_0",    "Q8_1",   "Q2_K",    "Q3_K",  "Q4_K",   "Q5_K",   "Q6_K",  "Q8_K",
    "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",  "IQ2_S", "IQ4_XS",
    "I8",      "I16",    "I32",     "I64",   "F64",    "IQ1_M",  "BF16",  "Q4_0_4_4",
    "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0", "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8",
    "MXFP4",   "NVFP4",  "Q1_0",
};

}  // namespace

const BlockFormat* find_block_format(uint32_t type) {
  for (const BlockFormat& format : kBlockFormats)
    if (static_cast<uint32_t>(format.type) == type) return &format;
  return nullptr;
}

const BlockFormat& block_format(GgmlType type) {
  const BlockFormat* format = find_block_format(static_cast<uint32_t>(type));
  if (format == nullptr) fail(ErrorCode::kInternal, "unknown ggml type {}", static_cast<uint32_t>(type));
  return *format;
}

const char* ggml_type_name(uint32_t type) {
  return type < std::size(kGgmlTypeNames) ? kGgmlTypeNames[type] : "unknown";
}

}  // namespace vkinfer
