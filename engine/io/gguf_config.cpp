// The reverse of TextModel.set_gguf_parameters and the per-architecture
// overrides in convert_hf_to_gguf.py: the key table in gguf_names.h gives
// the plain fields; what needs arithmetic or a decision is here.
#include "engine/io/gguf_config.h"

#include <climits>
#include <cstring>
#include <cmath>

#include "engine/core/error.h"
#include "engine/io/gguf_names.h"
#include "engine/io/gguf_rope_freqs.h"

namespace vkinfer {

using nlohmann::json;

namespace {

json key_value(const GgufFile& file, const std::string& key, const GgufValue& v, GgufKeyType type) {
  const std::string where = file.path().string();
  switch (type) {
    case GgufKeyType::kU32:
      if (!v.is_integer() || (v.type == GgufValueType::kU64 && v.bits > INT64_MAX) || v.as_int64() < 0)
        fail(ErrorCode::kBadFile, "{}: metadata key {} is {}, expected a non-negative integer", where, key,
             gguf_value_type_name(v.type));
      return v.as_int64();
    case GgufKeyType::kF32:
      if (v.type != GgufValueType::kF32 && v.type != GgufValueType::kF64 && !v.is_integer())
        fail(ErrorCode::kBadFile, "{}: metadata key {} is {}, expected a number", where, key,
             gguf_value_type_name(v.type));
      // FLOAT32 widened to double, then printed shortest: 1e-05f reads back
      // as the same float the converter stored.
      return static_cast<double>(static_cast<float>(v.as_double()));
    case GgufKeyType::kBool:
      if (v.type != GgufValueType::kBool)
        fail(ErrorCode::kBadFile, "{}: metadata key {} is {}, expected BOOL", where, key,
             gguf_value_type_name(v.type));
      return v.bits != 0;
  }
  return nullptr;
}

int64_t optional_int(const GgufFile& file, const std::string& key, int64_t fallback) {
  const GgufValue* v = file.find_value(key);
  if (!v) return fallback;
  if (!v->is_integer() || (v->type == GgufValueType::kU64 && v->bits > INT64_MAX))
    fail(ErrorCode::kBadFile, "{}: metadata key {} is {}, expected an integer in int64 range",
         file.path().string(), key, gguf_value_type_name(v->type));
  return v->as_int64();
}

}  // namespace

json gguf_hf_config(const GgufFile& file) {
  const std::string where = file.path().string();
  const std::string arch_name = file.get_string("general.architecture");
  const GgufArchitecture* arch = find_gguf_architecture(arch_name);
  if (!arch) {
    std::string known;
    for (const GgufArchitecture& a : gguf_architectures()) known += std::string(known.empty() ? "" : ", ") + a.gguf_arch;
    fail(ErrorCode::kUnsupported, "{}: general.architecture \"{}\" is not one vkinfer runs from GGUF ({})", where,
         arch_name, known);
  }
  const std::string prefix = arch_name + ".";
  json config = json::object();
  config["model_type"] = arch->hf_model_type;
  config["architectures"] = json::array({arch->hf_class});
  config["torch_dtype"] = "float32";
  for (const GgufKeyRule& rule : arch->keys) {
    const std::string key = prefix + rule.gguf;
    const GgufValue* v = file.find_value(key);
    if (!v) {
      if (rule.required)
        fail(ErrorCode::kBadFile, "{}: metadata key {} is missing (it gives config field {})", where, key, rule.hf);
      continue;
    }
    config[rule.hf] = key_value(file, key, *v, rule.type);
  }

  // The vocabulary is the embedding's rows (padded vocabularies exceed the
  // token list); the token list when there is no embedding to ask.
  if (const GgufTensor* embed = file.find("token_embd.weight"); embed && embed->dims.size() == 2) {
    config["vocab_size"] = embed->dims[1];
  } else if (file.has(prefix + "vocab_size")) {
    config["vocab_size"] = optional_int(file, prefix + "vocab_size", 0);
  } else if (file.has("tokenizer.ggml.tokens")) {
    config["vocab_size"] = file.find_value("tokenizer.ggml.tokens")->array.size();
  } else {
    fail(ErrorCode::kBadFile, "{}: no token_embd.weight, {}vocab_size or tokenizer.ggml.tokens to size the "
         "vocabulary", where, prefix);
  }
  // The converter drops a tied head (Gemma always; Llama and Qwen2 when
  // tie_word_embeddings); GPT-2 writes the tied head out as output.weight.
  const bool has_output = file.find("output.weight") != nullptr;
  config["tie_word_embeddings"] = arch_name == "gemma" ? true : !has_output;

  // Rotary width: all of the head except in GPT-NeoX (rotary_pct).
  const int64_t heads = config.value("num_attention_heads", config.value("n_head", int64_t{0}));
  const int64_t hidden = config.value("hidden_size", config.value("n_embd", int64_t{0}));
  const int64_t head_dim = config.contains("head_dim") ? config["head_dim"].get<int64_t>()
                                                       : (heads > 0 ? hidden / heads : 0);
  if (const GgufValue* rot = file.find_value(prefix + "rope.dimension_count")) {
    const int64_t dims = optional_int(file, prefix + "rope.dimension_count", 0);
    (void)rot;
    if (arch_name == "gptneox") {
      if (head_dim <= 0 || dims <= 0 || dims > head_dim)
        fail(ErrorCode::kBadFile, "{}: {}rope.dimension_count is {}, outside (0, head_dim = {}]", where, prefix, dims,
             head_dim);
      // int(head_dim * rotary_pct) must give `dims` back: take the middle of
      // the interval of rotary_pct values that do.
      config["rotary_pct"] = (static_cast<double>(dims) + 0.5) / static_cast<double>(head_dim);
      if (dims == head_dim) config["rotary_pct"] = 1.0;
    } else if (dims != head_dim) {
      fail(ErrorCode::kUnsupported, "{}: {}rope.dimension_count is {} but the head is {} wide; vkinfer runs {} with "
           "rotary over the whole head", where, prefix, dims, head_dim, arch_name);
    }
  }
  if (file.has(prefix + "rope.scaling.type")) {
    const std::string type = file.get_string(prefix + "rope.scaling.type");
    if (type == "linear") {
      const GgufValue* factor = file.find_value(prefix + "rope.scaling.factor");
      if (!factor) fail(ErrorCode::kBadFile, "{}: {}rope.scaling.type is linear but {}rope.scaling.factor is missing",
                        where, prefix, prefix);
      config["rope_scaling"] = {{"type", "linear"}, {"factor", key_value(file, prefix + "rope.scaling.factor", *factor,
                                                                         GgufKeyType::kF32)}};
    } else if (type != "none") {
      fail(ErrorCode::kUnsupported, "{}: {}rope.scaling.type \"{}\" is not supported (vkinfer reads linear)", where,
           prefix, type);
    }
  }
  if (const GgufTensor* freqs = file.find("rope_freqs.weight")) {
    // Llama 3.1+: rope_scaling "llama3" travels as per-frequency divisors.
    if (freqs->type != GgmlType::kF32 || freqs->dims.size() != 1)
      fail(ErrorCode::kBadFile, "{}: rope_freqs.weight is not a 1-D F32 tensor", where);
    std::vector<float> divisors(freqs->dims[0]);
    std::memcpy(divisors.data(), freqs->data, divisors.size() * sizeof(float));
    const double theta = config.value("rope_theta", 10000.0);
    if (const auto scaling = llama3_rope_from_divisors(divisors, theta, head_dim, where))
      config["rope_scaling"] = {{"rope_type", "llama3"},
                                {"factor", scaling->factor},
                                {"low_freq_factor", scaling->low_freq_factor},
                                {"high_freq_factor", scaling->high_freq_factor},
                                {"original_max_position_embeddings",
                                 static_cast<int64_t>(std::llround(scaling->original_max_positions))}};
  }
  if (file.find("rope_factors_long.weight") || file.find("rope_factors_short.weight"))
    fail(ErrorCode::kUnsupported, "{}: Phi-3 long-rope factors (rope_factors_long/short) are not supported", where);

  if (arch_name == "gpt2") config["n_ctx"] = config["n_positions"];
  if (arch_name == "llama") {
    // A Llama with attention_bias has q/k/v/o biases.
    config["attention_bias"] = file.find("blk.0.attn_q.bias") != nullptr;
  }
  for (const auto& [key, field] : {std::pair{"tokenizer.ggml.bos_token_id", "bos_token_id"},
                                   std::pair{"tokenizer.ggml.eos_token_id", "eos_token_id"},
                                   std::pair{"tokenizer.ggml.padding_token_id", "pad_token_id"}}) {
    if (file.has(key)) config[field] = optional_int(file, key, -1);
  }
  // Through text and back, so that numbers have the JSON types a parsed
  // config.json gives them (non-negative integers unsigned), which the
  // config parser's checks expect.
  return json::parse(config.dump());
}

}  // namespace vkinfer
