// How `--quant NAME` picks each weight matrix's GGUF block type.
//
// Single-type recipes (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q6_k) give every
// matrix the named type, like `llama-quantize --pure` (plain llama-quantize
// Q4_0 would still upgrade the LM head to Q6_K; a single-type recipe does
// not, so it measures that one type).
//
// q4_k_m is llama.cpp's Q4_K_M (llama_tensor_get_type in
// src/llama-quant.cpp), for the tensor kinds vkinfer has:
//   - the LM head, and the embedding when it also serves as the LM head
//     (tied): Q6_K;
//   - attn_v and ffn_down: Q6_K on the layers where
//       use_more_bits(i, n) = i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2
//     (integer division: the first and last eighth of the layers and every
//     third layer between), Q4_K elsewhere;
//   - a fused attn_qkv: llama.cpp uses Q5_K, which vkinfer reads but does not write
//     (no quantizer for it yet); Q6_K is the nearest type it writes that is not worse;
//   - everything else (q, k, attn_out, gate, up, an untied embedding,
//     other matrices): Q4_K.
// Why: the error a layer's quantization adds is not equally harmful
// everywhere. The LM head's error goes straight into the logits; v and
// ffn_down write into the residual stream without a softmax or a gate to
// damp it (q and k only move attention scores); and the first and last
// layers matter most. llama.cpp chose these rules by perplexity: 6.6 bits
// on these few matrices costs a few percent more memory than pure Q4_K
// and recovers a good part of its perplexity loss.
//
// Then the row-length fallback, also llama.cpp's: a K-quant needs rows of
// whole 256-weight super-blocks, so with cols % 256 != 0 Q4_K falls back to
// Q5_0 and Q6_K to Q8_0 (and the LM head directly to Q8_0, which is the
// same); a 32-weight type with cols % 32 != 0 falls back to F16 (llama.cpp
// does the same), since no block type fits such a row.
// `cols` is the row length on the device, i.e. after any tensor-parallel
// slicing of the input dimension, so the fallback can differ with --tp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/io/ggml_types.h"

namespace vkinfer {

enum class QuantTensorKind {
  kEmbedding,
  kOutput,    // the LM head
  kAttnQ,
  kAttnK,
  kAttnV,
  kAttnQkv,   // fused q|k|v
  kAttnOut,
  kFfnGate,
  kFfnUp,
  kFfnDown,
  kOther,     // any other matrix
};

struct QuantRecipe {
  std::string name;  // as given to --quant, lower case: "q4_k_m"
  GgmlType base;     // the type most matrices get
  bool k_mixed = false;  // llama.cpp's _M mix (q4_k_m)
};

// q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q6_k q4_k_m (case-insensitive); only block
// formats (f16/f32 are --dtype's business). kInvalidArgument listing the
// names otherwise.
QuantRecipe parse_quant_recipe(std::string_view name);

// The names parse_quant_recipe accepts, comma-separated, for help texts.
const char* quant_recipe_names();

// The type of one matrix. `cols` is its row length as the device will hold
// it (after tensor-parallel slicing); `layer` is -1 for non-layer tensors
// (embedding, LM head), else 0..num_layers-1; `tied_output`: the embedding
// also serves as the LM head. kInvalidArgument for a bad layer or cols.
GgmlType quant_type_for(const QuantRecipe& recipe, QuantTensorKind kind, int64_t layer,
                        int64_t num_layers, int64_t cols, bool tied_output);

// llama.cpp's use_more_bits(i_layer, n_layers) (see above).
bool quant_use_more_bits(int64_t layer, int64_t num_layers);

}  // namespace vkinfer
