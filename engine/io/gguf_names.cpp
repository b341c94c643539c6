// The per-architecture tables. Each row was checked against gguf-py 0.19's
// TensorNameMap (the HF name it maps to the GGUF name) and against what
// convert_hf_to_gguf.py does to the values on the way (the layout).
#include "engine/io/gguf_names.h"

#include <cstring>

namespace vkinfer {
namespace {

using L = GgufLayout;
using K = GgufKeyType;

// Llama, Mistral (both GGUF "llama"): LlamaModel permutes q/k for ggml's
// interleaved rope.
constexpr GgufTensorRule kLlamaTensors[] = {
    {"token_embd.weight", "model.embed_tokens.weight", L::kSame},
    {"output_norm.weight", "model.norm.weight", L::kSame},
    {"output.weight", "lm_head.weight", L::kSame},
    {"blk.{bid}.attn_norm.weight", "model.layers.{bid}.input_layernorm.weight", L::kSame},
    {"blk.{bid}.attn_q.weight", "model.layers.{bid}.self_attn.q_proj.weight", L::kPermuteQ},
    {"blk.{bid}.attn_q.bias", "model.layers.{bid}.self_attn.q_proj.bias", L::kPermuteQ},
    {"blk.{bid}.attn_k.weight", "model.layers.{bid}.self_attn.k_proj.weight", L::kPermuteK},
    {"blk.{bid}.attn_k.bias", "model.layers.{bid}.self_attn.k_proj.bias", L::kPermuteK},
    {"blk.{bid}.attn_v.weight", "model.layers.{bid}.self_attn.v_proj.weight", L::kSame},
    {"blk.{bid}.attn_v.bias", "model.layers.{bid}.self_attn.v_proj.bias", L::kSame},
    {"blk.{bid}.attn_output.weight", "model.layers.{bid}.self_attn.o_proj.weight", L::kSame},
    {"blk.{bid}.attn_output.bias", "model.layers.{bid}.self_attn.o_proj.bias", L::kSame},
    {"blk.{bid}.ffn_norm.weight", "model.layers.{bid}.post_attention_layernorm.weight", L::kSame},
    {"blk.{bid}.ffn_gate.weight", "model.layers.{bid}.mlp.gate_proj.weight", L::kSame},
    {"blk.{bid}.ffn_up.weight", "model.layers.{bid}.mlp.up_proj.weight", L::kSame},
    {"blk.{bid}.ffn_down.weight", "model.layers.{bid}.mlp.down_proj.weight", L::kSame},
};

// Qwen2Model is a plain TextModel: no permutation; q/k/v carry biases.
constexpr GgufTensorRule kQwen2Tensors[] = {
    {"token_embd.weight", "model.embed_tokens.weight", L::kSame},
    {"output_norm.weight", "model.norm.weight", L::kSame},
    {"output.weight", "lm_head.weight", L::kSame},
    {"blk.{bid}.attn_norm.weight", "model.layers.{bid}.input_layernorm.weight", L::kSame},
    {"blk.{bid}.attn_q.weight", "model.layers.{bid}.self_attn.q_proj.weight", L::kSame},
    {"blk.{bid}.attn_q.bias", "model.layers.{bid}.self_attn.q_proj.bias", L::kSame},
    {"blk.{bid}.attn_k.weight", "model.layers.{bid}.self_attn.k_proj.weight", L::kSame},
    {"blk.{bid}.attn_k.bias", "model.layers.{bid}.self_attn.k_proj.bias", L::kSame},
    {"blk.{bid}.attn_v.weight", "model.layers.{bid}.self_attn.v_proj.weight", L::kSame},
    {"blk.{bid}.attn_v.bias", "model.layers.{bid}.self_attn.v_proj.bias", L::kSame},
    {"blk.{bid}.attn_output.weight", "model.layers.{bid}.self_attn.o_proj.weight", L::kSame},
    {"blk.{bid}.ffn_norm.weight", "model.layers.{bid}.post_attention_layernorm.weight", L::kSame},
    {"blk.{bid}.ffn_gate.weight", "model.layers.{bid}.mlp.gate_proj.weight", L::kSame},
    {"blk.{bid}.ffn_up.weight", "model.layers.{bid}.mlp.up_proj.weight", L::kSame},
    {"blk.{bid}.ffn_down.weight", "model.layers.{bid}.mlp.down_proj.weight", L::kSame},
};

// GemmaModel adds 1 to every norm.weight and drops lm_head (always tied).
constexpr GgufTensorRule kGemmaTensors[] = {
    {"token_embd.weight", "model.embed_tokens.weight", L::kSame},
    {"output_norm.weight", "model.norm.weight", L::kNormPlusOne},
    {"blk.{bid}.attn_norm.weight", "model.layers.{bid}.input_layernorm.weight", L::kNormPlusOne},
    {"blk.{bid}.attn_q.weight", "model.layers.{bid}.self_attn.q_proj.weight", L::kSame},
    {"blk.{bid}.attn_k.weight", "model.layers.{bid}.self_attn.k_proj.weight", L::kSame},
    {"blk.{bid}.attn_v.weight", "model.layers.{bid}.self_attn.v_proj.weight", L::kSame},
    {"blk.{bid}.attn_output.weight", "model.layers.{bid}.self_attn.o_proj.weight", L::kSame},
    {"blk.{bid}.ffn_norm.weight", "model.layers.{bid}.post_attention_layernorm.weight", L::kNormPlusOne},
    {"blk.{bid}.ffn_gate.weight", "model.layers.{bid}.mlp.gate_proj.weight", L::kSame},
    {"blk.{bid}.ffn_up.weight", "model.layers.{bid}.mlp.up_proj.weight", L::kSame},
    {"blk.{bid}.ffn_down.weight", "model.layers.{bid}.mlp.down_proj.weight", L::kSame},
};

// Phi-3 keeps its fused qkv_proj and gate_up_proj (ffn_up holds [gate | up]).
constexpr GgufTensorRule kPhi3Tensors[] = {
    {"token_embd.weight", "model.embed_tokens.weight", L::kSame},
    {"output_norm.weight", "model.norm.weight", L::kSame},
    {"output.weight", "lm_head.weight", L::kSame},
    {"blk.{bid}.attn_norm.weight", "model.layers.{bid}.input_layernorm.weight", L::kSame},
    {"blk.{bid}.attn_qkv.weight", "model.layers.{bid}.self_attn.qkv_proj.weight", L::kSame},
    {"blk.{bid}.attn_output.weight", "model.layers.{bid}.self_attn.o_proj.weight", L::kSame},
    {"blk.{bid}.ffn_norm.weight", "model.layers.{bid}.post_attention_layernorm.weight", L::kSame},
    {"blk.{bid}.ffn_up.weight", "model.layers.{bid}.mlp.gate_up_proj.weight", L::kSame},
    {"blk.{bid}.ffn_down.weight", "model.layers.{bid}.mlp.down_proj.weight", L::kSame},
};

// GPT2Model transposes the Conv1D weights (c_attn, c_proj, c_fc) and writes
// the tied head as output.weight too. HF GPT2LMHeadModel's names carry
// "transformer."; the loader also accepts bare ones, but this is the
// canonical spelling.
constexpr GgufTensorRule kGpt2Tensors[] = {
    {"token_embd.weight", "transformer.wte.weight", L::kSame},
    {"position_embd.weight", "transformer.wpe.weight", L::kSame},
    {"output_norm.weight", "transformer.ln_f.weight", L::kSame},
    {"output_norm.bias", "transformer.ln_f.bias", L::kSame},
    {"output.weight", "lm_head.weight", L::kSame},
    {"blk.{bid}.attn_norm.weight", "transformer.h.{bid}.ln_1.weight", L::kSame},
    {"blk.{bid}.attn_norm.bias", "transformer.h.{bid}.ln_1.bias", L::kSame},
    {"blk.{bid}.attn_qkv.weight", "transformer.h.{bid}.attn.c_attn.weight", L::kTransposed},
    {"blk.{bid}.attn_qkv.bias", "transformer.h.{bid}.attn.c_attn.bias", L::kSame},
    {"blk.{bid}.attn_output.weight", "transformer.h.{bid}.attn.c_proj.weight", L::kTransposed},
    {"blk.{bid}.attn_output.bias", "transformer.h.{bid}.attn.c_proj.bias", L::kSame},
    {"blk.{bid}.ffn_norm.weight", "transformer.h.{bid}.ln_2.weight", L::kSame},
    {"blk.{bid}.ffn_norm.bias", "transformer.h.{bid}.ln_2.bias", L::kSame},
    {"blk.{bid}.ffn_up.weight", "transformer.h.{bid}.mlp.c_fc.weight", L::kTransposed},
    {"blk.{bid}.ffn_up.bias", "transformer.h.{bid}.mlp.c_fc.bias", L::kSame},
    {"blk.{bid}.ffn_down.weight", "transformer.h.{bid}.mlp.c_proj.weight", L::kTransposed},
    {"blk.{bid}.ffn_down.bias", "transformer.h.{bid}.mlp.c_proj.bias", L::kSame},
};

// GPTNeoXModel regroups query_key_value from per-head to [q | k | v].
constexpr GgufTensorRule kGptNeoXTensors[] = {
    {"token_embd.weight", "gpt_neox.embed_in.weight", L::kSame},
    {"output_norm.weight", "gpt_neox.final_layer_norm.weight", L::kSame},
    {"output_norm.bias", "gpt_neox.final_layer_norm.bias", L::kSame},
    {"output.weight", "embed_out.weight", L::kSame},
    {"blk.{bid}.attn_norm.weight", "gpt_neox.layers.{bid}.input_layernorm.weight", L::kSame},
    {"blk.{bid}.attn_norm.bias", "gpt_neox.layers.{bid}.input_layernorm.bias", L::kSame},
    {"blk.{bid}.attn_qkv.weight", "gpt_neox.layers.{bid}.attention.query_key_value.weight", L::kNeoxQkv},
    {"blk.{bid}.attn_qkv.bias", "gpt_neox.layers.{bid}.attention.query_key_value.bias", L::kNeoxQkv},
    {"blk.{bid}.attn_output.weight", "gpt_neox.layers.{bid}.attention.dense.weight", L::kSame},
    {"blk.{bid}.attn_output.bias", "gpt_neox.layers.{bid}.attention.dense.bias", L::kSame},
    {"blk.{bid}.ffn_norm.weight", "gpt_neox.layers.{bid}.post_attention_layernorm.weight", L::kSame},
    {"blk.{bid}.ffn_norm.bias", "gpt_neox.layers.{bid}.post_attention_layernorm.bias", L::kSame},
    {"blk.{bid}.ffn_up.weight", "gpt_neox.layers.{bid}.mlp.dense_h_to_4h.weight", L::kSame},
    {"blk.{bid}.ffn_up.bias", "gpt_neox.layers.{bid}.mlp.dense_h_to_4h.bias", L::kSame},
    {"blk.{bid}.ffn_down.weight", "gpt_neox.layers.{bid}.mlp.dense_4h_to_h.weight", L::kSame},
    {"blk.{bid}.ffn_down.bias", "gpt_neox.layers.{bid}.mlp.dense_4h_to_h.bias", L::kSame},
};

// The keys TextModel.set_gguf_parameters writes for Llama-like configs.
constexpr GgufKeyRule kLlamaKeys[] = {
    {"context_length", "max_position_embeddings", K::kU32, true},
    {"embedding_length", "hidden_size", K::kU32, true},
    {"block_count", "num_hidden_layers", K::kU32, true},
    {"feed_forward_length", "intermediate_size", K::kU32, true},
    {"attention.head_count", "num_attention_heads", K::kU32, true},
    {"attention.head_count_kv", "num_key_value_heads", K::kU32, false},
    {"attention.layer_norm_rms_epsilon", "rms_norm_eps", K::kF32, true},
    {"rope.freq_base", "rope_theta", K::kF32, false},
};

constexpr GgufKeyRule kGemmaKeys[] = {
    {"context_length", "max_position_embeddings", K::kU32, true},
    {"embedding_length", "hidden_size", K::kU32, true},
    {"block_count", "num_hidden_layers", K::kU32, true},
    {"feed_forward_length", "intermediate_size", K::kU32, true},
    {"attention.head_count", "num_attention_heads", K::kU32, true},
    {"attention.head_count_kv", "num_key_value_heads", K::kU32, false},
    {"attention.key_length", "head_dim", K::kU32, false},
    {"attention.layer_norm_rms_epsilon", "rms_norm_eps", K::kF32, true},
    {"rope.freq_base", "rope_theta", K::kF32, false},
};

constexpr GgufKeyRule kPhi3Keys[] = {
    {"context_length", "max_position_embeddings", K::kU32, true},
    {"embedding_length", "hidden_size", K::kU32, true},
    {"block_count", "num_hidden_layers", K::kU32, true},
    {"feed_forward_length", "intermediate_size", K::kU32, true},
    {"attention.head_count", "num_attention_heads", K::kU32, true},
    {"attention.head_count_kv", "num_key_value_heads", K::kU32, false},
    {"attention.layer_norm_rms_epsilon", "rms_norm_eps", K::kF32, true},
    {"attention.sliding_window", "sliding_window", K::kU32, false},
    {"rope.freq_base", "rope_theta", K::kF32, false},
};

// GPT2Model.set_gguf_parameters: n_inner is written as 4 * n_embd.
constexpr GgufKeyRule kGpt2Keys[] = {
    {"context_length", "n_positions", K::kU32, true},
    {"embedding_length", "n_embd", K::kU32, true},
    {"block_count", "n_layer", K::kU32, true},
    {"feed_forward_length", "n_inner", K::kU32, true},
    {"attention.head_count", "n_head", K::kU32, true},
    {"attention.layer_norm_epsilon", "layer_norm_epsilon", K::kF32, true},
};

// GPTNeoXModel: rope.dimension_count carries rotary_pct (config code).
constexpr GgufKeyRule kGptNeoXKeys[] = {
    {"context_length", "max_position_embeddings", K::kU32, true},
    {"embedding_length", "hidden_size", K::kU32, true},
    {"block_count", "num_hidden_layers", K::kU32, true},
    {"feed_forward_length", "intermediate_size", K::kU32, true},
    {"attention.head_count", "num_attention_heads", K::kU32, true},
    {"attention.layer_norm_epsilon", "layer_norm_eps", K::kF32, true},
    {"use_parallel_residual", "use_parallel_residual", K::kBool, false},
    {"rope.freq_base", "rotary_emb_base", K::kF32, false},
};

constexpr GgufArchitecture kArchitectures[] = {
    {"llama", "llama", "LlamaForCausalLM", kLlamaTensors, kLlamaKeys},
    {"qwen2", "qwen2", "Qwen2ForCausalLM", kQwen2Tensors, kLlamaKeys},
    {"gemma", "gemma", "GemmaForCausalLM", kGemmaTensors, kGemmaKeys},
    {"phi3", "phi3", "Phi3ForCausalLM", kPhi3Tensors, kPhi3Keys},
    {"gpt2", "gpt2", "GPT2LMHeadModel", kGpt2Tensors, kGpt2Keys},
    {"gptneox", "gpt_neox", "GPTNeoXForCausalLM", kGptNeoXTensors, kGptNeoXKeys},
};

// Matches `name` against a pattern with at most one "{bid}" (a decimal
// block index without leading zeros); the index, or -1 without "{bid}".
std::optional<int> match(std::string_view pattern, std::string_view name) {
  const size_t at = pattern.find("{bid}");
  if (at == std::string_view::npos) {
    if (pattern == name) return -1;
    return std::nullopt;
  }
  const std::string_view head = pattern.substr(0, at), tail = pattern.substr(at + 5);
  if (name.size() <= head.size() + tail.size() || name.substr(0, head.size()) != head ||
      name.substr(name.size() - tail.size()) != tail)
    return std::nullopt;
  const std::string_view digits = name.substr(head.size(), name.size() - head.size() - tail.size());
  if (digits.size() > 6 || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string fill(std::string_view pattern, int block) {
  std::string out(pattern);
  const size_t at = out.find("{bid}");
  if (at != std::string::npos) out.replace(at, 5, std::to_string(block));
  return out;
}

std::optional<GgufNameMatch> translate(const GgufArchitecture& arch, std::string_view name, bool from_gguf) {
  for (const GgufTensorRule& rule : arch.tensors) {
    const char* from = from_gguf ? rule.gguf : rule.hf;
    const char* to = from_gguf ? rule.hf : rule.gguf;
    if (auto block = match(from, name)) return GgufNameMatch{fill(to, *block), rule.layout, *block};
  }
  return std::nullopt;
}

}  // namespace

const char* gguf_layout_name(GgufLayout layout) {
  switch (layout) {
    case L::kSame: return "same";
    case L::kPermuteQ: return "permute_q";
    case L::kPermuteK: return "permute_k";
    case L::kTransposed: return "transposed";
    case L::kNeoxQkv: return "neox_qkv";
    case L::kNormPlusOne: return "norm_plus_one";
  }
  return "?";
}

int64_t gguf_row_of(GgufLayout layout, int64_t r, int64_t rows, int64_t heads) {
  switch (layout) {
    case L::kPermuteQ:
    case L::kPermuteK: {
      // HF row h*d + s*d/2 + i lives at GGUF row h*d + 2i + s.
      const int64_t d = rows / heads, half = d / 2;
      const int64_t h = r / d, w = r % d, s = w / half, i = w % half;
      return h * d + 2 * i + s;
    }
    case L::kNeoxQkv: {
      // HF row h*3d + part*d + i lives at GGUF row part*(heads*d) + h*d + i.
      const int64_t d = rows / (3 * heads);
      const int64_t h = r / (3 * d), part = (r % (3 * d)) / d, i = r % d;
      return part * heads * d + h * d + i;
    }
    default: return r;
  }
}

int64_t hf_row_of(GgufLayout layout, int64_t g, int64_t rows, int64_t heads) {
  switch (layout) {
    case L::kPermuteQ:
    case L::kPermuteK: {
      const int64_t d = rows / heads, half = d / 2;
      const int64_t h = g / d, w = g % d, i = w / 2, s = w % 2;
      return h * d + s * half + i;
    }
    case L::kNeoxQkv: {
      const int64_t d = rows / (3 * heads);
      const int64_t part = g / (heads * d), h = (g % (heads * d)) / d, i = g % d;
      return h * 3 * d + part * d + i;
    }
    default: return g;
  }
}

std::span<const GgufArchitecture> gguf_architectures() { return kArchitectures; }

const GgufArchitecture* find_gguf_architecture(std::string_view gguf_arch) {
  for (const GgufArchitecture& arch : kArchitectures)
    if (gguf_arch == arch.gguf_arch) return &arch;
  return nullptr;
}

const GgufArchitecture* find_gguf_architecture_for_hf(std::string_view hf_model_type) {
  // convert_hf_to_gguf writes Mistral with LlamaModel (arch "llama").
  if (hf_model_type == "mistral") hf_model_type = "llama";
  for (const GgufArchitecture& arch : kArchitectures)
    if (hf_model_type == arch.hf_model_type) return &arch;
  return nullptr;
}

std::optional<GgufNameMatch> gguf_to_hf_name(const GgufArchitecture& arch, std::string_view gguf_name) {
  return translate(arch, gguf_name, true);
}

std::optional<GgufNameMatch> hf_to_gguf_name(const GgufArchitecture& arch, std::string_view hf_name) {
  return translate(arch, hf_name, false);
}

}  // namespace vkinfer
