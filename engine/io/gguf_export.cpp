// What convert_hf_to_gguf.py's set_gguf_parameters and _set_vocab_gpt2 (with
// gguf-py's SpecialVocab) write, restricted to what gguf_config.cpp and
// gguf_tokenizer.cpp read back: every choice here is checked by reading the
// written file back into a config and a tokenizer (tests/quantize_cli_test.cpp).
#include "engine/io/gguf_export.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <set>

#include "engine/core/error.h"
#include "engine/io/gguf_rope_freqs.h"

namespace vkinfer {

using nlohmann::json;

namespace {

// The split patterns gguf_tokenizer.cpp builds for tokenizer.ggml.pre
// "llama-bpe" and "qwen2"; a tokenizer.json with exactly these is written
// with that `pre`.
constexpr const char* kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// llama.cpp's token types (llama_token_type).
constexpr int64_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

json read_json(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(ErrorCode::kBadFile, "{}: cannot open", path.string());
  try {
    return json::parse(file);
  } catch (const json::exception& e) {
    fail(ErrorCode::kBadFile, "{}: malformed JSON ({})", path.string(), e.what());
  }
}

bool present(const json& config, const char* field) { return config.contains(field) && !config[field].is_null(); }

void add_key(GgufWriter& w, const std::string& key, const json& value, GgufKeyType type, const std::string& where,
             const char* field) {
  switch (type) {
    case GgufKeyType::kU32:
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > UINT32_MAX)
        fail(ErrorCode::kBadFile, "{}: {} is {}, expected a non-negative 32-bit integer", where, field, value.dump());
      w.add_u32(key, static_cast<uint32_t>(value.get<int64_t>()));
      return;
    case GgufKeyType::kF32:
      if (!value.is_number()) fail(ErrorCode::kBadFile, "{}: {} is {}, expected a number", where, field, value.dump());
      w.add_f32(key, static_cast<float>(value.get<double>()));
      return;
    case GgufKeyType::kBool:
      if (!value.is_boolean()) fail(ErrorCode::kBadFile, "{}: {} is {}, expected a boolean", where, field, value.dump());
      w.add_bool(key, value.get<bool>());
      return;
  }
}

// A config id field (an int, or a list whose first entry is taken, as
// SpecialVocab does); nullopt when absent or null.
std::optional<int64_t> config_id(const json& config, const char* field) {
  if (!present(config, field)) return std::nullopt;
  const json& v = config[field];
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<int64_t>();
  if (v.is_array() && !v.empty() && v[0].is_number_integer() && v[0].get<int64_t>() >= 0) return v[0].get<int64_t>();
  return std::nullopt;
}

// tokenizer_config.json's special token: a string or {"content": ...}.
std::optional<std::string> special_token(const json& config, const char* field) {
  if (!present(config, field)) return std::nullopt;
  const json& v = config[field];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

bool is_byte_level(const json& node, bool use_regex) {
  return node.is_object() && node.value("type", "") == "ByteLevel" && !node.value("add_prefix_space", false) &&
         node.value("use_regex", true) == use_regex;
}

// tokenizer.ggml.pre for the pre-tokenizer (and normalizer) gguf_tokenizer.cpp
// rebuilds; nullopt when none of them matches.
std::optional<std::string> pre_for(const json& tok) {
  const json pre = tok.value("pre_tokenizer", json());
  const json norm = tok.value("normalizer", json());
  if (is_byte_level(pre, true)) return norm.is_null() ? std::optional<std::string>("gpt2") : std::nullopt;
  if (!pre.is_object() || pre.value("type", "") != "Sequence" || !pre.contains("pretokenizers")) return std::nullopt;
  const json& steps = pre["pretokenizers"];
  if (!steps.is_array() || steps.size() != 2 || !is_byte_level(steps[1], false)) return std::nullopt;
  const json& split = steps[0];
  if (!split.is_object() || split.value("type", "") != "Split" || split.value("behavior", "") != "Isolated" ||
      split.value("invert", false) || !split.contains("pattern") || !split["pattern"].is_object() ||
      !split["pattern"].contains("Regex") || !split["pattern"]["Regex"].is_string())
    return std::nullopt;
  const std::string regex = split["pattern"]["Regex"].get<std::string>();
  if (regex == kLlama3Split && norm.is_null()) return "llama-bpe";
  if (regex == kQwen2Split && norm.is_object() && norm.value("type", "") == "NFC") return "qwen2";
  return std::nullopt;
}

// Whether the post-processor puts a BOS in front (Llama 3's
// TemplateProcessing); ByteLevel and none add nothing.
bool post_adds_bos(const json& post) {
  if (!post.is_object()) return false;
  if (post.value("type", "") == "ByteLevel") return false;
  if (post.value("type", "") == "TemplateProcessing" && post.contains("single") && post["single"].is_array() &&
      !post["single"].empty())
    return post["single"][0].contains("SpecialToken");
  if (post.value("type", "") == "Sequence" && post.contains("processors") && post["processors"].is_array()) {
    bool any = false;
    for (const json& p : post["processors"]) any = any || post_adds_bos(p);
    return any;
  }
  return false;
}

// bos/eos/pad ids from config.json, as the converter writes them.
void add_token_ids(GgufWriter& w, const json& config) {
  for (const auto& [field, key] : {std::pair{"bos_token_id", "tokenizer.ggml.bos_token_id"},
                                   std::pair{"eos_token_id", "tokenizer.ggml.eos_token_id"},
                                   std::pair{"pad_token_id", "tokenizer.ggml.padding_token_id"}}) {
    if (const auto id = config_id(config, field); id && *id <= UINT32_MAX) w.add_u32(key, static_cast<uint32_t>(*id));
  }
}

}  // namespace

void add_gguf_config_metadata(GgufWriter& w, const GgufArchitecture& arch, const json& config,
                              const std::string& where) {
  const std::string arch_name = arch.gguf_arch;
  const std::string prefix = arch_name + ".";
  for (const GgufKeyRule& rule : arch.keys) {
    json value = present(config, rule.hf) ? config[rule.hf] : json();
    // GPT-2's n_inner is null by default: the MLP is 4 * n_embd wide
    // (GPT2Model.set_gguf_parameters writes that).
    if (value.is_null() && arch_name == "gpt2" && std::string(rule.hf) == "n_inner" && present(config, "n_embd"))
      value = 4 * config["n_embd"].get<int64_t>();
    if (value.is_null()) {
      if (rule.required)
        fail(ErrorCode::kUnsupported, "{}: config field {} is missing; the GGUF key {}{} needs it", where, rule.hf,
             prefix, rule.gguf);
      continue;
    }
    add_key(w, prefix + rule.gguf, value, rule.type, where, rule.hf);
  }

  const char* heads_field = arch_name == "gpt2" ? "n_head" : "num_attention_heads";
  const char* hidden_field = arch_name == "gpt2" ? "n_embd" : "hidden_size";
  const int64_t heads = present(config, heads_field) ? config[heads_field].get<int64_t>() : 0;
  const int64_t hidden = present(config, hidden_field) ? config[hidden_field].get<int64_t>() : 0;
  const int64_t head_dim = present(config, "head_dim") ? config["head_dim"].get<int64_t>()
                                                       : (heads > 0 ? hidden / heads : 0);
  if (arch_name == "llama" || arch_name == "gemma" || arch_name == "phi3" || arch_name == "qwen2") {
    if (head_dim > 0) w.add_u32(prefix + "rope.dimension_count", static_cast<uint32_t>(head_dim));
  } else if (arch_name == "gptneox") {
    // int(head_dim * rotary_pct), as the model computes its rotary width
    // (transformers' default rotary_pct is 0.25).
    const double pct = present(config, "rotary_pct") ? config["rotary_pct"].get<double>() : 0.25;
    w.add_u32(prefix + "rope.dimension_count", static_cast<uint32_t>(static_cast<double>(head_dim) * pct));
  }
  if (present(config, "rope_scaling")) {
    const json& scaling = config["rope_scaling"];
    const std::string type = scaling.is_object() ? scaling.value("type", scaling.value("rope_type", "")) : "";
    if (type == "llama3" && arch_name == "llama") {
      // As convert_hf_to_gguf.py writes it: the per-frequency divisors as
      // the tensor rope_freqs.weight, no metadata (gguf_rope_freqs.h).
      Llama3RopeScaling s;
      s.factor = scaling.value("factor", 8.0);
      s.low_freq_factor = scaling.value("low_freq_factor", 1.0);
      s.high_freq_factor = scaling.value("high_freq_factor", 4.0);
      s.original_max_positions = scaling.value("original_max_position_embeddings", 8192.0);
      const std::vector<float> divisors =
          llama3_rope_divisors(s, config.value("rope_theta", 10000.0), head_dim);
      std::vector<uint8_t> bytes(divisors.size() * sizeof(float));
      std::memcpy(bytes.data(), divisors.data(), bytes.size());
      w.add_tensor("rope_freqs.weight", {static_cast<int64_t>(divisors.size())}, GgmlType::kF32, std::move(bytes));
      return add_token_ids(w, config);
    }
    if (type != "linear" || !scaling.contains("factor") || !scaling["factor"].is_number())
      fail(ErrorCode::kUnsupported, "{}: rope_scaling {} cannot be written to GGUF for vkinfer to read back "
           "(it reads linear and llama3)", where, scaling.dump());
    w.add_string(prefix + "rope.scaling.type", "linear");
    w.add_f32(prefix + "rope.scaling.factor", static_cast<float>(scaling["factor"].get<double>()));
  }
  add_token_ids(w, config);
}

bool add_gguf_tokenizer_metadata(GgufWriter& w, const std::filesystem::path& dir, int64_t vocab_size) {
  const std::filesystem::path tok_path = dir / "tokenizer.json";
  if (!std::filesystem::exists(tok_path)) return false;
  const std::string where = tok_path.string();
  const json tok = read_json(tok_path);
  const json tok_config = std::filesystem::exists(dir / "tokenizer_config.json")
                              ? read_json(dir / "tokenizer_config.json") : json::object();
  if (!tok.is_object() || !tok.contains("model") || !tok["model"].is_object())
    fail(ErrorCode::kBadFile, "{}: no \"model\" object", where);
  const json& model = tok["model"];
  const std::string type = model.value("type", "");
  auto unsupported = [&](const std::string& what) {
    fail(ErrorCode::kUnsupported, "{}: {} is not a tokenizer vkinfer writes to GGUF (it writes byte-level BPE: "
         "ByteLevel pre-tokenizer, BPE model). HINT: pass --no-tokenizer to write the weights without it", where,
         what);
  };
  if (type != "BPE") unsupported(fmt::format("model type \"{}\"", type));
  if (model.value("byte_fallback", false)) unsupported("a SentencePiece-style BPE (byte_fallback)");
  const std::optional<std::string> pre = pre_for(tok);
  if (!pre)
    unsupported(fmt::format("the pre-tokenizer {} with normalizer {}", tok.value("pre_tokenizer", json()).dump(),
                            tok.value("normalizer", json()).dump()));
  const json decoder = tok.value("decoder", json());
  if (!decoder.is_object() || decoder.value("type", "") != "ByteLevel")
    unsupported(fmt::format("the decoder {}", tok.value("decoder", json()).dump()));
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail(ErrorCode::kBadFile, "{}: model.vocab is not an object", where);

  // Tokens by id: the vocabulary, then the added tokens, padded to the
  // embedding's rows with "[PAD{i}]" as the converter does.
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  std::vector<bool> filled;
  auto put = [&](int64_t id, const std::string& text, int64_t token_type) {
    if (id < 0 || id > (int64_t{1} << 24)) fail(ErrorCode::kBadFile, "{}: token id {} is out of range", where, id);
    if (id >= static_cast<int64_t>(tokens.size())) {
      tokens.resize(id + 1);
      types.resize(id + 1, kUnused);
      filled.resize(id + 1, false);
    }
    tokens[id] = text;
    types[id] = token_type;
    filled[id] = true;
  };
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) fail(ErrorCode::kBadFile, "{}: vocab entry \"{}\" is not an integer id", where, text);
    put(id.get<int64_t>(), text, kNormal);
  }
  if (tok.contains("added_tokens") && tok["added_tokens"].is_array()) {
    for (const json& added : tok["added_tokens"]) {
      if (!added.contains("id") || !added.contains("content")) continue;
      put(added["id"].get<int64_t>(), added["content"].get<std::string>(),
          added.value("special", false) ? kControl : kUserDefined);
    }
  }
  if (vocab_size > static_cast<int64_t>(tokens.size())) {
    tokens.resize(vocab_size);
    types.resize(vocab_size, kUnused);
    filled.resize(vocab_size, false);
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!filled[i]) tokens[i] = fmt::format("[PAD{}]", i);
    if (!seen.insert(tokens[i]).second)
      fail(ErrorCode::kBadFile, "{}: token \"{}\" appears twice (ids must be unique strings)", where, tokens[i]);
  }

  std::vector<std::string> merges;
  if (model.contains("merges") && model["merges"].is_array()) {
    for (const json& m : model["merges"]) {
      std::string left, right;
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ');
        if (space == std::string::npos) fail(ErrorCode::kBadFile, "{}: merge \"{}\" is not \"left right\"", where, s);
        left = s.substr(0, space);
        right = s.substr(space + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        left = m[0].get<std::string>();
        right = m[1].get<std::string>();
      } else {
        fail(ErrorCode::kBadFile, "{}: merge {} is neither \"left right\" nor [left, right]", where, m.dump());
      }
      // GGUF stores a merge as one "left right" string.
      if (left.empty() || right.empty() || left.find(' ') != std::string::npos || right.find(' ') != std::string::npos)
        unsupported(fmt::format("a merge with a space in a piece ({})", m.dump()));
      merges.push_back(left + " " + right);
    }
  }

  const int64_t n = static_cast<int64_t>(tokens.size());
  auto id_of = [&](const std::string& text) -> std::optional<int64_t> {
    for (int64_t i = 0; i < n; ++i)
      if (tokens[i] == text) return i;
    return std::nullopt;
  };
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", *pre);
  w.add_array_strings("tokenizer.ggml.tokens", tokens);
  w.add_array_ints("tokenizer.ggml.token_type", types);
  w.add_array_strings("tokenizer.ggml.merges", merges);
  if (const auto unk = special_token(tok_config, "unk_token"))
    if (const auto id = id_of(*unk)) w.add_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(*id));
  const bool add_bos = tok_config.contains("add_bos_token") && tok_config["add_bos_token"].is_boolean()
                           ? tok_config["add_bos_token"].get<bool>()
                           : post_adds_bos(tok.value("post_processor", json()));
  const bool add_eos = tok_config.contains("add_eos_token") && tok_config["add_eos_token"].is_boolean() &&
                       tok_config["add_eos_token"].get<bool>();
  w.add_bool("tokenizer.ggml.add_bos_token", add_bos);
  if (add_eos) w.add_bool("tokenizer.ggml.add_eos_token", true);
  if (present(tok_config, "chat_template")) {
    const json& t = tok_config["chat_template"];
    if (t.is_string()) {
      w.add_string("tokenizer.chat_template", t.get<std::string>());
    } else if (t.is_array()) {  // named templates: the default one
      for (const json& named : t)
        if (named.is_object() && named.value("name", "") == "default" && named.contains("template") &&
            named["template"].is_string())
          w.add_string("tokenizer.chat_template", named["template"].get<std::string>());
    }
  }
  return true;
}

}  // namespace vkinfer
