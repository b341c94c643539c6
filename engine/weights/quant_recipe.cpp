// The --quant recipes (quant_recipe.h): a name table, the q4_k_m rules and
// llama.cpp's row-length fallback.
#include "engine/weights/quant_recipe.h"

#include <cctype>

#include "engine/core/error.h"

namespace vkinfer {
namespace {

struct RecipeEntry {
  const char* name;
  GgmlType base;
  bool k_mixed;
};

constexpr RecipeEntry kRecipes[] = {
    {"q8_0", GgmlType::kQ8_0, false}, {"q4_0", GgmlType::kQ4_0, false},
    {"q4_1", GgmlType::kQ4_1, false}, {"q5_0", GgmlType::kQ5_0, false},
    {"q5_1", GgmlType::kQ5_1, false}, {"q4_k", GgmlType::kQ4_K, false},
    {"q6_k", GgmlType::kQ6_K, false}, {"q4_k_m", GgmlType::kQ4_K, true},
};

bool is_k_quant(GgmlType type) { return type == GgmlType::kQ4_K || type == GgmlType::kQ6_K; }

// llama.cpp's fallback for rows that are not whole blocks of `type`.
GgmlType fit_row(GgmlType type, int64_t cols) {
  if (cols % block_format(type).block_elements == 0) return type;
  if (is_k_quant(type)) type = type == GgmlType::kQ4_K ? GgmlType::kQ5_0 : GgmlType::kQ8_0;
  if (cols % block_format(type).block_elements == 0) return type;
  return GgmlType::kF16;
}

GgmlType q4_k_m_type(QuantTensorKind kind, int64_t layer, int64_t num_layers, bool tied_output) {
  switch (kind) {
    case QuantTensorKind::kOutput: return GgmlType::kQ6_K;
    case QuantTensorKind::kEmbedding: return tied_output ? GgmlType::kQ6_K : GgmlType::kQ4_K;
    case QuantTensorKind::kAttnV:
    case QuantTensorKind::kFfnDown:
      return quant_use_more_bits(layer, num_layers) ? GgmlType::kQ6_K : GgmlType::kQ4_K;
    case QuantTensorKind::kAttnQkv: return GgmlType::kQ6_K;  // llama.cpp: Q5_K (vkinfer does not quantize to it)
    case QuantTensorKind::kAttnQ:
    case QuantTensorKind::kAttnK:
    case QuantTensorKind::kAttnOut:
    case QuantTensorKind::kFfnGate:
    case QuantTensorKind::kFfnUp:
    case QuantTensorKind::kOther: return GgmlType::kQ4_K;
  }
  fail(ErrorCode::kInternal, "q4_k_m: unknown tensor kind {}", static_cast<int>(kind));
}

}  // namespace

const char* quant_recipe_names() { return "q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q6_k, q4_k_m"; }

QuantRecipe parse_quant_recipe(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const RecipeEntry& entry : kRecipes) {
    if (lower == entry.name) return {entry.name, entry.base, entry.k_mixed};
  }
  fail(ErrorCode::kInvalidArgument, "--quant '{}' is not a quantization recipe; use one of {}", name,
       quant_recipe_names());
}

bool quant_use_more_bits(int64_t layer, int64_t num_layers) {
  return layer < num_layers / 8 || layer >= 7 * num_layers / 8 || (layer - num_layers / 8) % 3 == 2;
}

GgmlType quant_type_for(const QuantRecipe& recipe, QuantTensorKind kind, int64_t layer,
                        int64_t num_layers, int64_t cols, bool tied_output) {
  if (cols <= 0) fail(ErrorCode::kInvalidArgument, "--quant {}: row length {} is not positive", recipe.name, cols);
  const bool per_layer = kind != QuantTensorKind::kEmbedding && kind != QuantTensorKind::kOutput;
  if (per_layer && kind != QuantTensorKind::kOther && (layer < 0 || layer >= num_layers)) {
    fail(ErrorCode::kInvalidArgument, "--quant {}: layer {} is outside 0..{}", recipe.name, layer,
         num_layers - 1);
  }
  GgmlType type = recipe.base;
  if (recipe.k_mixed) type = q4_k_m_type(kind, layer, num_layers, tied_output);
  return fit_row(type, cols);
}

}  // namespace vkinfer
