// Typed model configuration parsed from a Hugging Face `config.json`.
//
// Each family's defaults and derived values are copied from transformers
// 4.40.2 (configuration_*.py and the modeling code that reads them), because
// that is what our goldens come from. All decoder families share one
// `DecoderConfig` whose fields describe their differences as data, so the
// decoder graph is written once. Every size is range-checked here, before
// anything is allocated from it; errors name config.json and the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace vkinfer {

enum class Arch { kBert, kGpt2, kLlama, kOpt, kGptJ, kGptNeoX, kQwen2, kMistral, kGemma, kPhi3 };

// `model_type` spelling: "bert", "gpt2", "llama", "opt", "gptj", "gpt_neox", "qwen2",
// "mistral", "gemma", "phi3".
const char* arch_name(Arch arch);
// Inverse of arch_name; kUnsupported listing the supported names otherwise.
Arch arch_from_string(const std::string& model_type);

enum class Activation {
  kGeluErf,   // "gelu": x * Phi(x) with erf
  kGeluTanh,  // "gelu_new" / "gelu_pytorch_tanh" / "gelu_fast": tanh approximation
  kRelu,
  kSilu,      // "silu" / "swish"
};
enum class NormKind { kLayerNorm, kRmsNorm };
enum class RotaryStyle {
  kNone,         // no rotary embedding (learned positions instead)
  kHalf,         // rotate_half: pairs (i, i + rotary_dim/2) — llama, gpt_neox
  kInterleaved,  // rotate_every_two: pairs (2i, 2i + 1) — gptj
};

// config.json's rope_scaling, as transformers applies it (Llama and
// GPT-NeoX): linear divides every position by the factor; dynamic (NTK)
// raises the base once a forward's length passes max_position_embeddings
// (both as in 4.40.2); llama3 (Llama only, transformers >= 4.43) divides
// the low frequencies by the factor and blends a middle band.
enum class RopeScaling { kNone, kLinear, kDynamic, kLlama3 };

struct BertConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  int64_t max_position_embeddings = 0;
  int64_t type_vocab_size = 0;
  double layer_norm_eps = 0;
  Activation hidden_act = Activation::kGeluErf;
  int64_t num_labels = 0;
  std::vector<std::string> id2label;  // index = class id; "LABEL_i" by default
  int pad_token_id = -1;              // -1: none
};

struct DecoderConfig {
  Arch arch = Arch::kGpt2;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;       // < num_heads: grouped-query attention
  int64_t head_dim = 0;           // hidden_size / num_heads, except Gemma's config head_dim
  int64_t intermediate_size = 0;  // MLP width (per branch when gated)
  int64_t max_positions = 0;
  NormKind norm = NormKind::kLayerNorm;
  double norm_eps = 0;
  // Gemma's RMSNorm multiplies by (1 + weight): the loader adds this to every
  // norm gain (in fp32, as transformers does) before it reaches the device.
  float norm_gain_offset = 0.0f;
  // Gemma scales the token embedding by sqrt(hidden_size), rounded to fp32;
  // 1 elsewhere. A tied head reads the unscaled table.
  float embed_scale = 1.0f;
  // Sliding-window attention (Mistral): a query at position p sees keys
  // p - sliding_window .. p, as transformers 4.40.2's causal mask builds it
  // (sliding_window + 1 keys); 0 = no window.
  int64_t sliding_window = 0;
  Activation activation = Activation::kGeluTanh;
  bool gated_mlp = false;  // down(act(gate(x)) * up(x)), llama
  RotaryStyle rotary = RotaryStyle::kNone;
  int64_t rotary_dim = 0;  // leading dims of each head that rotate; 0 without rotary
  double rope_theta = 0;   // rotary base; 0 without rotary
  RopeScaling rope_scaling = RopeScaling::kNone;
  double rope_scaling_factor = 1.0;  // > 1 when rope_scaling is set (>= 1 for llama3)
  // llama3 only: the band edges are original_max / low and original_max / high.
  double rope_low_freq_factor = 0;
  double rope_high_freq_factor = 0;
  int64_t rope_original_max_positions = 0;
  bool learned_positions = false;
  int64_t position_offset = 0;  // OPT looks up position p at row p + 2
  // gptj: attn and MLP both read ln_1(x); gpt_neox: attn reads
  // input_layernorm(x) and MLP reads post_attention_layernorm(x); both add to x.
  bool parallel_residual = false;
  bool pre_norm = true;     // false: OPT-350m style post-norm (do_layer_norm_before=false)
  bool final_norm = true;   // a norm after the last layer
  int64_t word_embed_proj_dim = 0;  // OPT project_in/out width; 0 when equal to hidden
  bool tie_word_embeddings = false;
  // Bias flags exactly as transformers builds the linear layers.
  bool qkv_bias = false;
  bool attn_out_bias = false;
  bool mlp_bias = false;
  bool lm_head_bias = false;  // gptj only
  // Phi-3 stores q, k and v as one qkv_proj [q | k | v] and the gate and up
  // projections as one gate_up_proj [gate | up]; the tensor plan slices each
  // rank's heads and MLP columns out of them.
  bool fused_qkv = false;
  bool fused_gate_up = false;
  // GPT-2's attention scores: divided by sqrt(head_dim) unless
  // scale_attn_weights is false, and by layer_index + 1 when
  // scale_attn_by_inverse_layer_idx is true.
  bool scale_attn_weights = true;
  bool scale_attn_by_layer = false;
  int bos_token_id = -1;      // -1: none
  std::vector<int> eos_token_ids;
  int pad_token_id = -1;
};

// The rotary base of a forward over `length` positions (the longest
// sequence's last position + 1): rope_theta, except under dynamic
// rope_scaling past max_positions, where transformers 4.40.2 computes, in
// fp32, theta * (factor * length / max_positions - (factor - 1)) ^
// (rotary_dim / (rotary_dim - 2)).
float rope_base(const DecoderConfig& config, int64_t length);

struct ModelConfig {
  Arch arch = Arch::kGpt2;
  std::string model_type;
  std::variant<BertConfig, DecoderConfig> config;
  nlohmann::json raw;  // the file as parsed, for fields nobody typed yet

  // Reads dir/config.json. kBadFile when missing or not JSON, kBadConfig for
  // a bad field, kUnsupported for a model or feature vkinfer does not run.
  static ModelConfig load(const std::filesystem::path& dir);
  // Same checks on an already-parsed object; `source` names it in messages.
  static ModelConfig parse(const nlohmann::json& raw, const std::string& source);

  bool is_decoder() const { return std::holds_alternative<DecoderConfig>(config); }
  // kInvalidArgument when the model is of the other kind.
  const BertConfig& bert() const;
  const DecoderConfig& decoder() const;
};

}  // namespace vkinfer
