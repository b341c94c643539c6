// How llama.cpp's GGUF files name and lay out what a Hugging Face folder
// holds, per architecture, in both directions: GGUF -> HF to load a .gguf
// file through the HF-named weight code, HF -> GGUF to write one.
//
// The tables follow gguf-py 0.19 (gguf/constants.py MODEL_TENSORS and
// gguf/tensor_mapping.py), which is what llama.cpp's convert_hf_to_gguf.py
// writes with, including the converter's per-architecture value changes
// (GgufLayout). Tensor names carry "{bid}" for the block (layer) index.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vkinfer {

// How a tensor's values in the GGUF file differ from the HF checkpoint's.
// GGUF dims are always the HF (torch) shape reversed, except kTransposed.
enum class GgufLayout {
  kSame,
  // Llama q_proj / k_proj rows (weights and biases): convert_hf_to_gguf's
  // LlamaModel.permute reorders each head's rows from HF's rotate-half order
  // [first half | second half] to interleaved pairs (ggml's "normal" rope):
  // GGUF row h*d + 2i + s holds HF row h*d + s*d/2 + i. kPermuteQ groups by
  // attention.head_count, kPermuteK by attention.head_count_kv.
  kPermuteQ,
  kPermuteK,
  // GPT-2 Conv1D weights: HF stores [in, out]; the converter writes the
  // transpose, so GGUF holds nn.Linear's [out, in] like every other matrix.
  kTransposed,
  // GPT-NeoX query_key_value rows (weight and bias): HF interleaves per head
  // [h0 q, h0 k, h0 v, h1 q, ...]; GGUF holds [all q | all k | all v].
  kNeoxQkv,
  // Gemma RMSNorm gains: the converter writes weight + 1 (Gemma multiplies by
  // 1 + weight); HF holds the bare weight.
  kNormPlusOne,
};

const char* gguf_layout_name(GgufLayout layout);

struct GgufTensorRule {
  const char* gguf;  // "blk.{bid}.attn_q.weight"
  const char* hf;    // "model.layers.{bid}.self_attn.q_proj.weight"
  GgufLayout layout;
};

enum class GgufKeyType { kU32, kF32, kBool };

// A hyperparameter: GGUF key "{arch}." + `gguf` <-> config.json field `hf`.
// Keys that need arithmetic (rope.dimension_count, rope.scaling.*, the vocab
// size, tied embeddings) are handled by the config code, not this table.
struct GgufKeyRule {
  const char* gguf;  // "attention.head_count"
  const char* hf;    // "num_attention_heads"
  GgufKeyType type;  // as the converter writes it
  bool required;     // a file without it is refused (when reading)
};

struct GgufArchitecture {
  const char* gguf_arch;      // general.architecture: "llama"
  const char* hf_model_type;  // config.json model_type it loads as: "llama"
  const char* hf_class;       // config.json architectures[0]: "LlamaForCausalLM"
  std::span<const GgufTensorRule> tensors;
  std::span<const GgufKeyRule> keys;
};

// The row moves of the permuting layouts (kPermuteQ, kPermuteK, kNeoxQkv),
// for a tensor of `rows` rows (elements, for a 1-D bias) in `heads` heads
// (attention.head_count, or head_count_kv for kPermuteK); the identity for
// the other layouts. The caller checks that `rows` divides into the heads
// (2 * heads for the permutations, 3 * heads for kNeoxQkv).
// Reading a GGUF file: HF row r is GGUF row gguf_row_of(r). Writing one:
// GGUF row g is HF row hf_row_of(g).
int64_t gguf_row_of(GgufLayout layout, int64_t hf_row, int64_t rows, int64_t heads);
int64_t hf_row_of(GgufLayout layout, int64_t gguf_row, int64_t rows, int64_t heads);

// Architectures vkinfer maps: llama (Llama and Mistral), gpt2, gptneox,
// qwen2, gemma, phi3.
std::span<const GgufArchitecture> gguf_architectures();
// nullptr when vkinfer does not map `gguf_arch`.
const GgufArchitecture* find_gguf_architecture(std::string_view gguf_arch);
// The architecture a HF model_type is written as (mistral -> llama); nullptr
// when unmapped.
const GgufArchitecture* find_gguf_architecture_for_hf(std::string_view hf_model_type);

struct GgufNameMatch {
  std::string name;  // in the other naming
  GgufLayout layout;
  int block = -1;    // the {bid} matched, -1 for a tensor outside the blocks
};
// nullopt when the architecture has no rule for `name` (e.g. llama's
// rope_freqs, or HF's rotary_emb.inv_freq buffers, which the converter drops).
std::optional<GgufNameMatch> gguf_to_hf_name(const GgufArchitecture& arch, std::string_view gguf_name);
std::optional<GgufNameMatch> hf_to_gguf_name(const GgufArchitecture& arch, std::string_view hf_name);

}  // namespace vkinfer
