// One parse function per family. Each reads the keys its transformers config
// class reads, with the same defaults, and then fills DecoderConfig with what
// the modeling code builds from them (bias flags, rotary layout, norms).
// Anything the modeling code would do that our decoder graph cannot
// (other rope_scaling types, norms without weights) is rejected here with
// kUnsupported rather than silently computed differently.
#include "engine/model/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "engine/core/error.h"
#include "engine/io/gguf_checkpoint.h"  // is_gguf_file
#include "engine/io/gguf_config.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Upper bounds for "absurd" sizes: each is far above any released model of
// these families (largest: vocab ~256k, hidden 16k, 126 layers, 128 heads,
// 128k positions) yet low enough that products of them cannot overflow int64
// before the allocation planner checks device memory.
constexpr int64_t kMaxVocab = (int64_t{1} << 31) - 1;  // token ids are int32 on the device
constexpr int64_t kMaxHidden = int64_t{1} << 18;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxIntermediate = int64_t{1} << 20;
constexpr int64_t kMaxPositions = int64_t{1} << 24;
constexpr int64_t kMaxTypeVocab = int64_t{1} << 16;
constexpr int64_t kMaxLabels = int64_t{1} << 16;

constexpr const char* kSupportedTypes =
    "bert, gpt2, llama, opt, gptj, gpt_neox, qwen2, mistral, gemma, phi3";

// Reads typed fields of one config object. `aliases` mirrors a config class's
// attribute_map: transformers applies those keys after the constructor
// arguments, so when both spellings are present the alias wins.
class Fields {
 public:
  Fields(const json& raw, std::string source, std::map<std::string, std::string> aliases = {})
      : raw_(raw), source_(std::move(source)), aliases_(std::move(aliases)) {}

  const std::string& source() const { return source_; }

  // The value for `key` (or its alias), nullptr when absent.
  const json* find(const std::string& key, std::string* used_key = nullptr) const {
    for (const auto& [alias, target] : aliases_) {
      if (target == key && raw_.contains(alias)) {
        if (used_key) *used_key = alias;
        return &raw_[alias];
      }
    }
    if (!raw_.contains(key)) return nullptr;
    if (used_key) *used_key = key;
    return &raw_[key];
  }

  template <typename... Args>
  [[noreturn]] void bad(const std::string& key, fmt::format_string<Args...> format,
                        Args&&... args) const {
    fail(ErrorCode::kBadConfig, "{}: field \"{}\" {}", source_, key,
         fmt::format(format, std::forward<Args>(args)...));
  }

  template <typename... Args>
  [[noreturn]] void unsupported(const std::string& key, fmt::format_string<Args...> format,
                                Args&&... args) const {
    fail(ErrorCode::kUnsupported, "{}: field \"{}\" {}", source_, key,
         fmt::format(format, std::forward<Args>(args)...));
  }

  // A positive integer in [1, max]; `fallback` when absent.
  int64_t size(const std::string& key, int64_t fallback, int64_t max) const {
    std::string used = key;
    const json* value = find(key, &used);
    if (value == nullptr) return fallback;
    return checked_size(used, *value, max);
  }

  // Like size(), but absent or null (Python None) means "derive it".
  std::optional<int64_t> optional_size(const std::string& key, int64_t max) const {
    std::string used = key;
    const json* value = find(key, &used);
    if (value == nullptr || value->is_null()) return std::nullopt;
    return checked_size(used, *value, max);
  }

  // A finite number in (0, max].
  double positive(const std::string& key, double fallback, double max) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_number()) bad(key, "is a JSON {}, expected a number", value->type_name());
    const double number = value->get<double>();
    if (!std::isfinite(number) || number <= 0 || number > max) {
      bad(key, "is {}, expected a number in (0, {}]", number, max);
    }
    return number;
  }

  bool flag(const std::string& key, bool fallback) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) bad(key, "is a JSON {}, expected true or false", value->type_name());
    return value->get<bool>();
  }

  std::string text(const std::string& key, const std::string& fallback) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_string()) bad(key, "is a JSON {}, expected a string", value->type_name());
    return value->get<std::string>();
  }

  // A token id; -1 for none. Negative ids in the file also mean none (early
  // LLaMA exports write pad_token_id: -1). An id written in the file must lie
  // inside the vocabulary; a family default that does not (tiny test models
  // keep gpt2's 50256 with a 1000-token vocab) is dropped instead, since
  // transformers never looks such an id up either.
  int token(const std::string& key, int fallback, int64_t vocab_size) const {
    const json* value = find(key);
    if (value == nullptr) return fallback >= 0 && fallback < vocab_size ? fallback : -1;
    if (value->is_null()) return -1;
    return checked_token(key, *value, vocab_size);
  }

  // eos_token_id: an int, a list of ints, or null.
  std::vector<int> tokens(const std::string& key, int fallback, int64_t vocab_size) const {
    const json* value = find(key);
    if (value == nullptr) {
      if (fallback >= 0 && fallback < vocab_size) return {fallback};
      return {};
    }
    std::vector<int> ids;
    if (value->is_array()) {
      for (const json& item : *value) {
        const int id = checked_token(key, item, vocab_size);
        if (id >= 0) ids.push_back(id);
      }
    } else if (!value->is_null()) {
      const int id = checked_token(key, *value, vocab_size);
      if (id >= 0) ids.push_back(id);
    }
    return ids;
  }

  Activation activation(const std::string& key, const std::string& fallback) const {
    const std::string name = text(key, fallback);
    // The tanh spellings compute the same formula, 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))),
    // in transformers/activations.py; they differ only in how the constant is written.
    if (name == "gelu" || name == "gelu_python") return Activation::kGeluErf;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast" ||
        name == "gelu_accurate") {
      return Activation::kGeluTanh;
    }
    if (name == "relu") return Activation::kRelu;
    if (name == "silu" || name == "swish") return Activation::kSilu;
    unsupported(key, "is \"{}\"; vkinfer implements gelu, gelu_new, gelu_pytorch_tanh, "
                "gelu_fast, relu and silu",
                name);
  }

  // rope_scaling as transformers validates it: null, or {"type" (later
  // "rope_type"): "linear" | "dynamic", "factor": a number > 1}, and for
  // Llama also the llama3 type with its four keys. Other types (yarn,
  // longrope, ...) and unknown keys are refused, never ignored.
  void rope_scaling(DecoderConfig& c, bool allow_llama3) const {
    const json* value = find("rope_scaling");
    if (value == nullptr || value->is_null()) return;
    if (!value->is_object()) bad("rope_scaling", "is {}, expected null or an object", value->dump());
    const json* type = value->contains("rope_type") ? &(*value)["rope_type"]
                       : value->contains("type")    ? &(*value)["type"]
                                                    : nullptr;
    if (type == nullptr || !type->is_string())
      bad("rope_scaling", "is {}, expected a \"type\" of \"linear\" or \"dynamic\"", value->dump());
    const std::string name = type->get<std::string>();
    if (name == "default") return;
    const char* supported = allow_llama3 ? "\"linear\", \"dynamic\" and \"llama3\"" : "\"linear\" and \"dynamic\"";
    std::vector<std::string> keys = {"type", "rope_type", "factor"};
    if (name == "linear") {
      c.rope_scaling = RopeScaling::kLinear;
    } else if (name == "dynamic") {
      c.rope_scaling = RopeScaling::kDynamic;
    } else if (name == "llama3" && allow_llama3) {
      c.rope_scaling = RopeScaling::kLlama3;
      keys.insert(keys.end(), {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"});
    } else {
      unsupported("rope_scaling", "has type \"{}\"; vkinfer implements {} here", name, supported);
    }
    for (const auto& [key, entry] : value->items())
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        unsupported("rope_scaling", "has \"{}\", which type \"{}\" does not read", key, name);
    auto number = [&](const char* key, double low, bool low_inclusive) {
      const json* field = value->contains(key) ? &(*value)[key] : nullptr;
      if (field == nullptr || !field->is_number() || !std::isfinite(field->get<double>()) ||
          !(low_inclusive ? field->get<double>() >= low : field->get<double>() > low) ||
          !(field->get<double>() <= 1e6))
        bad("rope_scaling", "is {}, expected \"{}\" {} {}", value->dump(), key,
            low_inclusive ? "at least" : "greater than", low);
      return field->get<double>();
    };
    if (c.rope_scaling == RopeScaling::kLlama3) {
      // transformers only warns below 1; a factor under 1 would stretch the
      // short wavelengths it claims to keep, so it is refused here.
      c.rope_scaling_factor = number("factor", 1.0, true);
      c.rope_low_freq_factor = number("low_freq_factor", 0.0, false);
      c.rope_high_freq_factor = number("high_freq_factor", c.rope_low_freq_factor, false);
      const json& original = (*value)["original_max_position_embeddings"];
      if (!original.is_number_integer() || original.get<int64_t>() < 1 ||
          original.get<int64_t>() > kMaxPositions)
        bad("rope_scaling", "is {}, expected \"original_max_position_embeddings\" a positive integer",
            value->dump());
      c.rope_original_max_positions = original.get<int64_t>();
      return;
    }
    c.rope_scaling_factor = number("factor", 1.0, false);
    // The dynamic base's exponent is rotary_dim / (rotary_dim - 2).
    if (c.rope_scaling == RopeScaling::kDynamic && c.rotary_dim <= 2)
      unsupported("rope_scaling", "is dynamic with a rotary width of {}; it needs more than 2",
                  c.rotary_dim);
  }

 private:
  int64_t checked_size(const std::string& key, const json& value, int64_t max) const {
    if (!value.is_number_integer()) {
      bad(key, "is {} (a JSON {}), expected a positive integer", value.dump(),
          value.type_name());
    }
    // nlohmann stores non-negative integers as unsigned, negative ones as signed.
    if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 ||
        value.get<uint64_t>() > static_cast<uint64_t>(max)) {
      bad(key, "is {}, expected an integer in [1, {}]", value.dump(), max);
    }
    return value.get<int64_t>();
  }

  int checked_token(const std::string& key, const json& value, int64_t vocab_size) const {
    if (!value.is_number_integer()) {
      bad(key, "is {} (a JSON {}), expected a token id", value.dump(), value.type_name());
    }
    if (!value.is_number_unsigned() && value.get<int64_t>() < 0) return -1;
    if (value.is_number_unsigned() && value.get<uint64_t>() >= static_cast<uint64_t>(vocab_size)) {
      bad(key, "is {}, outside the vocabulary of {} tokens", value.dump(), vocab_size);
    }
    return static_cast<int>(value.get<int64_t>());
  }

  const json& raw_;
  std::string source_;
  std::map<std::string, std::string> aliases_;
};

// Every family here splits hidden_size evenly over heads (the attention
// modules raise otherwise).
int64_t head_dim_of(const Fields& f, const std::string& hidden_key, int64_t hidden,
                    const std::string& heads_key, int64_t heads) {
  if (heads > hidden || hidden % heads != 0) {
    f.bad(heads_key, "is {}, which does not divide {} = {}", heads, hidden_key, hidden);
  }
  return hidden / heads;
}

void check_rotary_dim(const Fields& f, const std::string& key, const DecoderConfig& c) {
  if (c.rotary_dim <= 0 || c.rotary_dim > c.head_dim || c.rotary_dim % 2 != 0) {
    f.bad(key, "gives rotary_dim {}, which must be even and in [2, head_dim = {}]", c.rotary_dim,
          c.head_dim);
  }
}

const std::map<std::string, std::string> kGpt2Aliases = {
    {"hidden_size", "n_embd"},
    {"max_position_embeddings", "n_positions"},
    {"num_attention_heads", "n_head"},
    {"num_hidden_layers", "n_layer"},
};

// configuration_gpt2.py + modeling_gpt2.py (Conv1D layers all carry biases).
DecoderConfig parse_gpt2(const Fields& f) {
  DecoderConfig c;
  c.arch = Arch::kGpt2;
  c.vocab_size = f.size("vocab_size", 50257, kMaxVocab);
  c.hidden_size = f.size("n_embd", 768, kMaxHidden);
  c.num_layers = f.size("n_layer", 12, kMaxLayers);
  c.num_heads = f.size("n_head", 12, kMaxHidden);
  c.num_kv_heads = c.num_heads;
  c.head_dim = head_dim_of(f, "n_embd", c.hidden_size, "n_head", c.num_heads);
  c.intermediate_size = f.optional_size("n_inner", kMaxIntermediate).value_or(4 * c.hidden_size);
  c.max_positions = f.size("n_positions", 1024, kMaxPositions);
  c.norm = NormKind::kLayerNorm;
  c.norm_eps = f.positive("layer_norm_epsilon", 1e-5, 1.0);
  c.activation = f.activation("activation_function", "gelu_new");
  c.learned_positions = true;
  c.tie_word_embeddings = f.flag("tie_word_embeddings", true);
  c.qkv_bias = c.attn_out_bias = c.mlp_bias = true;
  c.scale_attn_weights = f.flag("scale_attn_weights", true);
  c.scale_attn_by_layer = f.flag("scale_attn_by_inverse_layer_idx", false);
  // reorder_and_upcast_attn only changes where fp16 models round; in fp32
  // it is the same product, and vkinfer accumulates scores in fp32 anyway.
  c.bos_token_id = f.token("bos_token_id", 50256, c.vocab_size);
  c.eos_token_ids = f.tokens("eos_token_id", 50256, c.vocab_size);
  c.pad_token_id = f.token("pad_token_id", -1, c.vocab_size);
  return c;
}

// configuration_opt.py + modeling_opt.py.
DecoderConfig parse_opt(const Fields& f) {
  DecoderConfig c;
  c.arch = Arch::kOpt;
  c.vocab_size = f.size("vocab_size", 50272, kMaxVocab);
  c.hidden_size = f.size("hidden_size", 768, kMaxHidden);
  c.num_layers = f.size("num_hidden_layers", 12, kMaxLayers);
  c.num_heads = f.size("num_attention_heads", 12, kMaxHidden);
  c.num_kv_heads = c.num_heads;
  c.head_dim =
      head_dim_of(f, "hidden_size", c.hidden_size, "num_attention_heads", c.num_heads);
  c.intermediate_size = f.size("ffn_dim", 3072, kMaxIntermediate);
  c.max_positions = f.size("max_position_embeddings", 2048, kMaxPositions);
  c.norm = NormKind::kLayerNorm;
  c.norm_eps = 1e-5;  // OPT builds nn.LayerNorm with torch's default eps
  c.activation = f.activation("activation_function", "relu");
  c.learned_positions = true;
  c.position_offset = 2;  // OPTLearnedPositionalEmbedding.offset
  c.pre_norm = f.flag("do_layer_norm_before", true);
  c.final_norm = c.pre_norm && !f.flag("_remove_final_layer_norm", false);
  const int64_t proj = f.optional_size("word_embed_proj_dim", kMaxHidden).value_or(c.hidden_size);
  c.word_embed_proj_dim = proj == c.hidden_size ? 0 : proj;
  c.tie_word_embeddings = f.flag("tie_word_embeddings", true);
  const bool bias = f.flag("enable_bias", true);
  c.qkv_bias = c.attn_out_bias = c.mlp_bias = bias;
  if (!f.flag("layer_norm_elementwise_affine", true)) {
    f.unsupported("layer_norm_elementwise_affine", "is false; vkinfer needs LayerNorm weights");
  }
  c.bos_token_id = f.token("bos_token_id", 2, c.vocab_size);
  c.eos_token_ids = f.tokens("eos_token_id", 2, c.vocab_size);
  c.pad_token_id = f.token("pad_token_id", 1, c.vocab_size);
  return c;
}

// configuration_gptj.py + modeling_gptj.py: q/k/v/out_proj have no bias, the
// MLP and lm_head do; one ln_1 feeds attention and MLP in parallel.
DecoderConfig parse_gptj(const Fields& f) {
  DecoderConfig c;
  c.arch = Arch::kGptJ;
  c.vocab_size = f.size("vocab_size", 50400, kMaxVocab);
  c.hidden_size = f.size("n_embd", 4096, kMaxHidden);
  c.num_layers = f.size("n_layer", 28, kMaxLayers);
  c.num_heads = f.size("n_head", 16, kMaxHidden);
  c.num_kv_heads = c.num_heads;
  c.head_dim = head_dim_of(f, "n_embd", c.hidden_size, "n_head", c.num_heads);
  c.intermediate_size = f.optional_size("n_inner", kMaxIntermediate).value_or(4 * c.hidden_size);
  c.max_positions = f.size("n_positions", 2048, kMaxPositions);
  c.norm = NormKind::kLayerNorm;
  c.norm_eps = f.positive("layer_norm_epsilon", 1e-5, 1.0);
  c.activation = f.activation("activation_function", "gelu_new");
  c.rotary = RotaryStyle::kInterleaved;
  // rotary_dim: null makes transformers build a table of n_embd (not
  // head_dim) frequencies, which only runs when n_head == 1; refuse it.
  const json* rotary = f.find("rotary_dim");
  if (rotary != nullptr && rotary->is_null()) {
    f.unsupported("rotary_dim", "is null; vkinfer needs an explicit rotary_dim");
  }
  c.rotary_dim = f.size("rotary_dim", 64, kMaxHidden);
  check_rotary_dim(f, "rotary_dim", c);
  c.rope_theta = 10000.0;  // hard-coded in create_sinusoidal_positions
  c.parallel_residual = true;
  c.tie_word_embeddings = f.flag("tie_word_embeddings", false);
  c.mlp_bias = true;
  c.lm_head_bias = true;
  c.bos_token_id = f.token("bos_token_id", 50256, c.vocab_size);
  c.eos_token_ids = f.tokens("eos_token_id", 50256, c.vocab_size);
  c.pad_token_id = f.token("pad_token_id", -1, c.vocab_size);
  return c;
}

// configuration_gpt_neox.py + modeling_gpt_neox.py.
DecoderConfig parse_gpt_neox(const Fields& f) {
  DecoderConfig c;
  c.arch = Arch::kGptNeoX;
  c.vocab_size = f.size("vocab_size", 50432, kMaxVocab);
  c.hidden_size = f.size("hidden_size", 6144, kMaxHidden);
  c.num_layers = f.size("num_hidden_layers", 44, kMaxLayers);
  c.num_heads = f.size("num_attention_heads", 64, kMaxHidden);
  c.num_kv_heads = c.num_heads;
  c.head_dim =
      head_dim_of(f, "hidden_size", c.hidden_size, "num_attention_heads", c.num_heads);
  c.intermediate_size = f.size("intermediate_size", 24576, kMaxIntermediate);
  c.max_positions = f.size("max_position_embeddings", 2048, kMaxPositions);
  c.norm = NormKind::kLayerNorm;
  c.norm_eps = f.positive("layer_norm_eps", 1e-5, 1.0);
  c.activation = f.activation("hidden_act", "gelu");
  c.rotary = RotaryStyle::kHalf;
  const double rotary_pct = f.positive("rotary_pct", 0.25, 1.0);
  // int(head_size * rotary_pct) in GPTNeoXAttention: truncation, in doubles.
  c.rotary_dim = static_cast<int64_t>(static_cast<double>(c.head_dim) * rotary_pct);
  check_rotary_dim(f, "rotary_pct", c);
  c.rope_theta = f.positive("rotary_emb_base", 10000.0, 1e12);
  f.rope_scaling(c, /*allow_llama3=*/false);
  c.parallel_residual = f.flag("use_parallel_residual", true);
  c.tie_word_embeddings = f.flag("tie_word_embeddings", false);
  c.qkv_bias = c.attn_out_bias = f.flag("attention_bias", true);
  c.mlp_bias = true;
  c.bos_token_id = f.token("bos_token_id", 0, c.vocab_size);
  c.eos_token_ids = f.tokens("eos_token_id", 2, c.vocab_size);
  c.pad_token_id = f.token("pad_token_id", -1, c.vocab_size);
  return c;
}

// The Llama-shaped families (Llama, Qwen2, Mistral, Gemma, Phi-3): RMSNorm,
// rotate-half RoPE over the whole head, a gated MLP, optional GQA. Each
// caller passes its config class's defaults and then sets what differs.
struct LlamaLikeDefaults {
  int64_t vocab, hidden, intermediate, layers, heads, kv_heads, max_positions;  // kv_heads 0: heads
  double eps;
  const char* act;
  bool tie;
  int bos, eos;
};

DecoderConfig parse_llama_like(const Fields& f, Arch arch, const LlamaLikeDefaults& d) {
  DecoderConfig c;
  c.arch = arch;
  c.vocab_size = f.size("vocab_size", d.vocab, kMaxVocab);
  c.hidden_size = f.size("hidden_size", d.hidden, kMaxHidden);
  c.num_layers = f.size("num_hidden_layers", d.layers, kMaxLayers);
  c.num_heads = f.size("num_attention_heads", d.heads, kMaxHidden);
  c.head_dim =
      head_dim_of(f, "hidden_size", c.hidden_size, "num_attention_heads", c.num_heads);
  c.num_kv_heads = f.optional_size("num_key_value_heads", kMaxHidden).value_or(d.kv_heads ? d.kv_heads : c.num_heads);
  if (c.num_kv_heads > c.num_heads || c.num_heads % c.num_kv_heads != 0) {
    f.bad("num_key_value_heads", "is {}, which does not divide num_attention_heads = {}",
          c.num_kv_heads, c.num_heads);
  }
  c.intermediate_size = f.size("intermediate_size", d.intermediate, kMaxIntermediate);
  c.max_positions = f.size("max_position_embeddings", d.max_positions, kMaxPositions);
  c.norm = NormKind::kRmsNorm;
  c.norm_eps = f.positive("rms_norm_eps", d.eps, 1.0);
  c.activation = f.activation("hidden_act", d.act);
  c.gated_mlp = true;
  c.rotary = RotaryStyle::kHalf;
  c.rotary_dim = c.head_dim;
  c.rope_theta = f.positive("rope_theta", 10000.0, 1e12);
  c.tie_word_embeddings = f.flag("tie_word_embeddings", d.tie);
  c.bos_token_id = f.token("bos_token_id", d.bos, c.vocab_size);
  c.eos_token_ids = f.tokens("eos_token_id", d.eos, c.vocab_size);
  c.pad_token_id = f.token("pad_token_id", -1, c.vocab_size);
  return c;
}

// transformers 4.40.2 ignores a head_dim key for these families and always
// uses hidden/heads; weights saved with another head_dim would not match.
void refuse_other_head_dim(const Fields& f, const DecoderConfig& c) {
  const json* head_dim = f.find("head_dim");
  if (head_dim != nullptr && !head_dim->is_null() &&
      (!head_dim->is_number_integer() || head_dim->get<int64_t>() != c.head_dim)) {
    f.unsupported("head_dim", "is {}; vkinfer (like transformers 4.40.2) needs hidden_size / "
                  "num_attention_heads = {}",
                  head_dim->dump(), c.head_dim);
  }
}

// Families whose rotary module reads no rope_scaling in transformers: a
// config that sets one asks for something the reference would not do.
void refuse_rope_scaling(const Fields& f, const char* family) {
  const json* value = f.find("rope_scaling");
  if (value != nullptr && !value->is_null())
    f.unsupported("rope_scaling", "is {}; vkinfer runs {} without rope scaling (as transformers "
                  "4.40.2 does), and will not ignore a scaling the checkpoint asks for",
                  value->dump(), family);
}

// configuration_llama.py + modeling_llama.py.
DecoderConfig parse_llama(const Fields& f) {
  DecoderConfig c = parse_llama_like(f, Arch::kLlama, {32000, 4096, 11008, 32, 32, 0, 2048, 1e-6, "silu", false, 1, 2});
  refuse_other_head_dim(f, c);
  f.rope_scaling(c, /*allow_llama3=*/true);
  f.size("pretraining_tp", 1, kMaxHidden);  // only splits the same matmuls; checked for type
  c.qkv_bias = c.attn_out_bias = f.flag("attention_bias", false);
  // mlp_bias arrived in transformers 4.41; a checkpoint that sets it carries
  // the bias tensors, so honouring it matches the weights (default false
  // matches 4.40.2 for every other checkpoint).
  c.mlp_bias = f.flag("mlp_bias", false);
  return c;
}

// configuration_qwen2.py + modeling_qwen2.py: Llama with biases on q, k and v
// (not on o_proj). Its sliding window is a flash-attention option: with
// use_sliding_window, flash attention windows the layers from
// max_window_layers on, while transformers 4.44's eager attention windows
// none. Where those agree (no layer windowed) vkinfer runs it; otherwise it
// refuses rather than pick one.
DecoderConfig parse_qwen2(const Fields& f) {
  DecoderConfig c = parse_llama_like(f, Arch::kQwen2, {151936, 4096, 22016, 32, 32, 32, 32768, 1e-6, "silu", false, -1, -1});
  refuse_other_head_dim(f, c);
  refuse_rope_scaling(f, "qwen2");
  c.qkv_bias = true;
  if (f.flag("use_sliding_window", false) && f.size("max_window_layers", 28, kMaxLayers) < c.num_layers)
    f.unsupported("max_window_layers", "is below num_hidden_layers = {} with use_sliding_window; "
                  "vkinfer does not run Qwen2's per-layer sliding windows", c.num_layers);
  return c;
}

// configuration_mistral.py + modeling_mistral.py: Llama with sliding-window
// attention (sliding_window: null turns it off).
DecoderConfig parse_mistral(const Fields& f) {
  DecoderConfig c = parse_llama_like(f, Arch::kMistral, {32000, 4096, 14336, 32, 32, 8, 4096 * 32, 1e-6, "silu", false, 1, 2});
  refuse_other_head_dim(f, c);
  refuse_rope_scaling(f, "mistral");
  const json* window = f.find("sliding_window");
  if (window == nullptr || !window->is_null()) c.sliding_window = f.size("sliding_window", 4096, kMaxPositions);
  return c;
}

// configuration_gemma.py + modeling_gemma.py: head_dim from the config (q/k/v
// are heads x head_dim wide, not hidden), GeGLU with the tanh GELU unless
// hidden_activation says otherwise (4.40.2 overrides hidden_act), RMSNorm by
// (1 + weight), the embedding scaled by sqrt(hidden), a tied head.
DecoderConfig parse_gemma(const Fields& f) {
  DecoderConfig c;
  c.arch = Arch::kGemma;
  c.vocab_size = f.size("vocab_size", 256000, kMaxVocab);
  c.hidden_size = f.size("hidden_size", 3072, kMaxHidden);
  c.num_layers = f.size("num_hidden_layers", 28, kMaxLayers);
  c.num_heads = f.size("num_attention_heads", 16, kMaxHidden);
  c.num_kv_heads = f.size("num_key_value_heads", 16, kMaxHidden);
  if (c.num_kv_heads > c.num_heads || c.num_heads % c.num_kv_heads != 0) {
    f.bad("num_key_value_heads", "is {}, which does not divide num_attention_heads = {}",
          c.num_kv_heads, c.num_heads);
  }
  c.head_dim = f.size("head_dim", 256, kMaxHidden);
  if (c.head_dim % 2 != 0) f.bad("head_dim", "is {}; rotary embeddings need an even head_dim", c.head_dim);
  c.intermediate_size = f.size("intermediate_size", 24576, kMaxIntermediate);
  c.max_positions = f.size("max_position_embeddings", 8192, kMaxPositions);
  c.norm = NormKind::kRmsNorm;
  c.norm_eps = f.positive("rms_norm_eps", 1e-6, 1.0);
  c.norm_gain_offset = 1.0f;
  const json* hidden_activation = f.find("hidden_activation");
  c.activation = hidden_activation == nullptr || hidden_activation->is_null()
                     ? Activation::kGeluTanh
                     : f.activation("hidden_activation", "gelu_pytorch_tanh");
  c.gated_mlp = true;
  c.rotary = RotaryStyle::kHalf;
  c.rotary_dim = c.head_dim;
  c.rope_theta = f.positive("rope_theta", 10000.0, 1e12);
  refuse_rope_scaling(f, "gemma");
  c.embed_scale = static_cast<float>(std::sqrt(static_cast<double>(c.hidden_size)));
  c.tie_word_embeddings = f.flag("tie_word_embeddings", true);
  c.qkv_bias = c.attn_out_bias = f.flag("attention_bias", false);
  c.bos_token_id = f.token("bos_token_id", 2, c.vocab_size);
  c.eos_token_ids = f.tokens("eos_token_id", 1, c.vocab_size);
  c.pad_token_id = f.token("pad_token_id", 0, c.vocab_size);
  return c;
}

// configuration_phi3.py + modeling_phi3.py (transformers 4.44.2; 4.40.2 has
// no Phi-3): Llama with fused qkv_proj and gate_up_proj. Its sliding_window
// is read only by the flash-attention path; eager attention, which the
// goldens and transformers' default CPU path use, sees every key, and so
// does vkinfer. Long-context rope scaling ("su", "longrope", "yarn") is
// refused by name.
DecoderConfig parse_phi3(const Fields& f) {
  DecoderConfig c = parse_llama_like(f, Arch::kPhi3, {32064, 3072, 8192, 32, 32, 0, 4096, 1e-5, "silu", false, 1, 32000});
  refuse_other_head_dim(f, c);
  const json* scaling = f.find("rope_scaling");
  if (scaling != nullptr && !scaling->is_null())
    f.unsupported("rope_scaling", "is {}; vkinfer does not implement Phi-3's long-context rope "
                  "scaling (su/longrope/yarn) yet", scaling->dump());
  c.pad_token_id = f.token("pad_token_id", 32000, c.vocab_size);
  c.fused_qkv = c.fused_gate_up = true;
  return c;
}

}  // namespace

float rope_base(const DecoderConfig& config, int64_t length) {
  const float theta = static_cast<float>(config.rope_theta);
  if (config.rope_scaling != RopeScaling::kDynamic || length <= config.max_positions) return theta;
  // torch: python floats meet an int64 tensor, so every step is an fp32 op.
  const float factor = static_cast<float>(config.rope_scaling_factor);
  const float stretch = factor * static_cast<float>(length) / static_cast<float>(config.max_positions) -
                        static_cast<float>(config.rope_scaling_factor - 1.0);
  const double dim = static_cast<double>(config.rotary_dim);
  return theta * std::pow(stretch, static_cast<float>(dim / (dim - 2.0)));
}

namespace {

// PretrainedConfig: id2label wins over num_labels; with neither, 2 labels.
std::vector<std::string> parse_labels(const Fields& f) {
  const json* labels = f.find("id2label");
  if (labels == nullptr || labels->is_null()) {
    const int64_t count = f.size("num_labels", 2, kMaxLabels);
    std::vector<std::string> names;
    for (int64_t i = 0; i < count; ++i) names.push_back(fmt::format("LABEL_{}", i));
    return names;
  }
  if (!labels->is_object() || labels->empty() ||
      labels->size() > static_cast<size_t>(kMaxLabels)) {
    f.bad("id2label", "must be a non-empty object mapping \"0\".. to label names");
  }
  std::vector<std::string> names(labels->size());
  std::vector<bool> seen(labels->size(), false);
  for (const auto& [key, value] : labels->items()) {
    size_t index = 0;
    size_t parsed = 0;
    try {
      index = std::stoul(key, &parsed);
    } catch (const std::exception&) {
      parsed = 0;
    }
    if (parsed != key.size() || index >= names.size() || seen[index]) {
      f.bad("id2label", "has key \"{}\"; keys must be the ids 0..{} once each", key,
            names.size() - 1);
    }
    if (!value.is_string()) {
      f.bad("id2label", "maps \"{}\" to a JSON {}, expected a label name", key,
            value.type_name());
    }
    seen[index] = true;
    names[index] = value.get<std::string>();
  }
  return names;
}

// configuration_bert.py + modeling_bert.py.
BertConfig parse_bert(const Fields& f) {
  BertConfig c;
  c.vocab_size = f.size("vocab_size", 30522, kMaxVocab);
  c.hidden_size = f.size("hidden_size", 768, kMaxHidden);
  c.num_layers = f.size("num_hidden_layers", 12, kMaxLayers);
  c.num_heads = f.size("num_attention_heads", 12, kMaxHidden);
  head_dim_of(f, "hidden_size", c.hidden_size, "num_attention_heads", c.num_heads);
  c.intermediate_size = f.size("intermediate_size", 3072, kMaxIntermediate);
  c.max_position_embeddings = f.size("max_position_embeddings", 512, kMaxPositions);
  c.type_vocab_size = f.size("type_vocab_size", 2, kMaxTypeVocab);
  c.layer_norm_eps = f.positive("layer_norm_eps", 1e-12, 1.0);
  c.hidden_act = f.activation("hidden_act", "gelu");
  const std::string positions = f.text("position_embedding_type", "absolute");
  if (positions != "absolute") {
    f.unsupported("position_embedding_type", "is \"{}\"; vkinfer supports \"absolute\"",
                  positions);
  }
  c.id2label = parse_labels(f);
  c.num_labels = static_cast<int64_t>(c.id2label.size());
  c.pad_token_id = f.token("pad_token_id", 0, c.vocab_size);
  return c;
}

}  // namespace

const char* arch_name(Arch arch) {
  switch (arch) {
    case Arch::kBert: return "bert";
    case Arch::kGpt2: return "gpt2";
    case Arch::kLlama: return "llama";
    case Arch::kOpt: return "opt";
    case Arch::kGptJ: return "gptj";
    case Arch::kGptNeoX: return "gpt_neox";
    case Arch::kQwen2: return "qwen2";
    case Arch::kMistral: return "mistral";
    case Arch::kGemma: return "gemma";
    case Arch::kPhi3: return "phi3";
  }
  return "?";
}

Arch arch_from_string(const std::string& model_type) {
  for (Arch arch : {Arch::kBert, Arch::kGpt2, Arch::kLlama, Arch::kOpt, Arch::kGptJ,
                    Arch::kGptNeoX, Arch::kQwen2, Arch::kMistral, Arch::kGemma, Arch::kPhi3}) {
    if (model_type == arch_name(arch)) return arch;
  }
  fail(ErrorCode::kUnsupported, "model_type {} is not supported; vkinfer runs {}",
       json(model_type).dump(), kSupportedTypes);
}

ModelConfig ModelConfig::parse(const json& raw, const std::string& source) {
  if (!raw.is_object()) {
    fail(ErrorCode::kBadConfig, "{}: is a JSON {}, expected an object", source, raw.type_name());
  }
  if (!raw.contains("model_type")) {
    fail(ErrorCode::kBadConfig, "{}: no \"model_type\" field (expected one of {})", source,
         kSupportedTypes);
  }
  if (!raw["model_type"].is_string()) {
    fail(ErrorCode::kBadConfig, "{}: field \"model_type\" is a JSON {}, expected a string",
         source, raw["model_type"].type_name());
  }
  ModelConfig result;
  result.model_type = raw["model_type"].get<std::string>();
  try {
    result.arch = arch_from_string(result.model_type);
  } catch (const Error& e) {
    fail(ErrorCode::kUnsupported, "{}: {}", source, e.what());
  }
  result.raw = raw;
  switch (result.arch) {
    case Arch::kBert: result.config = parse_bert(Fields(raw, source)); break;
    case Arch::kGpt2: result.config = parse_gpt2(Fields(raw, source, kGpt2Aliases)); break;
    case Arch::kGptJ: result.config = parse_gptj(Fields(raw, source, kGpt2Aliases)); break;
    case Arch::kOpt: result.config = parse_opt(Fields(raw, source)); break;
    case Arch::kGptNeoX: result.config = parse_gpt_neox(Fields(raw, source)); break;
    case Arch::kLlama: result.config = parse_llama(Fields(raw, source)); break;
    case Arch::kQwen2: result.config = parse_qwen2(Fields(raw, source)); break;
    case Arch::kMistral: result.config = parse_mistral(Fields(raw, source)); break;
    case Arch::kGemma: result.config = parse_gemma(Fields(raw, source)); break;
    case Arch::kPhi3: result.config = parse_phi3(Fields(raw, source)); break;
  }
  return result;
}

ModelConfig ModelConfig::load(const fs::path& dir) {
  // A .gguf file: its metadata, as the config.json it was converted from.
  if (is_gguf_file(dir)) return parse(gguf_hf_config(*GgufFile::open(dir)), dir.string());
  if (dir.extension() == ".gguf" && !fs::is_directory(dir))  // GgufFile::open says what is wrong (missing, not GGUF)
    GgufFile::open(dir);
  const fs::path path = dir / "config.json";
  const std::string source = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail(ErrorCode::kBadFile, "{}: cannot open (is {} a Hugging Face model folder?)", source,
         dir.string());
  }
  std::stringstream text;
  text << in.rdbuf();
  json raw;
  try {
    raw = json::parse(text.str());
  } catch (const json::parse_error& e) {
    // nlohmann's message carries "line L, column C".
    fail(ErrorCode::kBadFile, "{}: malformed JSON: {}", source, e.what());
  }
  return parse(raw, source);
}

const BertConfig& ModelConfig::bert() const {
  if (const auto* bert = std::get_if<BertConfig>(&config)) return *bert;
  fail(ErrorCode::kInvalidArgument, "model_type \"{}\" is a decoder, not a BERT encoder",
       model_type);
}

const DecoderConfig& ModelConfig::decoder() const {
  if (const auto* decoder = std::get_if<DecoderConfig>(&config)) return *decoder;
  fail(ErrorCode::kInvalidArgument, "model_type \"{}\" is an encoder, not a decoder", model_type);
}

}  // namespace vkinfer
