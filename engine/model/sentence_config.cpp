#include "engine/model/sentence_config.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "engine/core/error.h"
#include "engine/model/config.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kTransformer = "sentence_transformers.models.Transformer";
constexpr const char* kPooling = "sentence_transformers.models.Pooling";
constexpr const char* kNormalize = "sentence_transformers.models.Normalize";
// Far above any real max_seq_length, low enough for int arithmetic.
constexpr int64_t kMaxSeqLength = int64_t{1} << 24;

json parse_json(std::string_view text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail(ErrorCode::kBadFile, "{}: malformed JSON ({})", source, e.what());
  }
}

std::string read_text(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(ErrorCode::kBadFile, "{}: cannot open the file", path.string());
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// A module folder must stay inside the model folder: relative, no "..".
std::string module_path(const json& value, const std::string& source, size_t index) {
  if (!value.is_string())
    fail(ErrorCode::kBadFile, "{}: module {} has no string \"path\"", source, index);
  const std::string path = value.get<std::string>();
  const fs::path p(path);
  bool escapes = p.is_absolute() || path.find('\0') != std::string::npos;
  for (const auto& part : p) escapes = escapes || part == "..";
  if (escapes)
    fail(ErrorCode::kBadFile, "{}: module {} has path \"{}\"; module folders must lie inside the "
         "model folder", source, index, path);
  return path;
}

bool bool_field(const json& object, const std::string& key, bool fallback, const std::string& source) {
  if (!object.contains(key) || object[key].is_null()) return fallback;
  if (!object[key].is_boolean())
    fail(ErrorCode::kBadConfig, "{}: field \"{}\" is a JSON {}, expected true or false", source, key,
         object[key].type_name());
  return object[key].get<bool>();
}

// A positive integer up to `max`, nullopt for null/absent.
std::optional<int64_t> size_field(const json& object, const std::string& key, int64_t max,
                                  const std::string& source) {
  if (!object.contains(key) || object[key].is_null()) return std::nullopt;
  const json& v = object[key];
  const bool integer = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
  if (!integer || v.get<uint64_t>() < 1 || v.get<uint64_t>() > uint64_t(max))
    fail(ErrorCode::kBadConfig, "{}: field \"{}\" must be an integer in [1, {}] (got {})", source, key,
         max, v.dump());
  return static_cast<int64_t>(v.get<uint64_t>());
}

}  // namespace

SentenceModules parse_modules_json(std::string_view text, const std::string& source) {
  const json modules = parse_json(text, source);
  if (!modules.is_array() || modules.empty())
    fail(ErrorCode::kBadFile, "{}: expected a non-empty list of modules", source);
  SentenceModules out;
  std::vector<std::string> types;
  for (size_t i = 0; i < modules.size(); ++i) {
    const json& m = modules[i];
    if (!m.is_object() || !m.contains("type") || !m["type"].is_string())
      fail(ErrorCode::kBadFile, "{}: module {} is not an object with a string \"type\"", source, i);
    const std::string type = m["type"].get<std::string>();
    const std::string path = module_path(m.contains("path") ? m["path"] : json(), source, i);
    if (type != kTransformer && type != kPooling && type != kNormalize)
      fail(ErrorCode::kUnsupported, "{}: module {} is {}; vkinfer embed runs {}, {} and {} only", source,
           i, json(type).dump(), kTransformer, kPooling, kNormalize);
    types.push_back(type);
    if (type == kTransformer) out.transformer_path = path;
    if (type == kPooling) out.pooling_path = path;
  }
  const bool ordered = (types.size() == 2 || types.size() == 3) && types[0] == kTransformer &&
                       types[1] == kPooling && (types.size() == 2 || types[2] == kNormalize);
  if (!ordered) {
    std::string list;
    for (const std::string& type : types) list += (list.empty() ? "" : ", ") + type.substr(type.rfind('.') + 1);
    fail(ErrorCode::kUnsupported, "{}: modules [{}]; vkinfer embed runs Transformer, Pooling and an "
         "optional Normalize, in that order", source, list);
  }
  out.normalize = types.size() == 3;
  return out;
}

SentencePoolingConfig parse_pooling_config(std::string_view text, const std::string& source) {
  const json config = parse_json(text, source);
  if (!config.is_object()) fail(ErrorCode::kBadFile, "{}: expected a JSON object", source);
  static const char* const kKeys[] = {
      "word_embedding_dimension", "pooling_mode", "pooling_mode_cls_token", "pooling_mode_mean_tokens",
      "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
      "pooling_mode_lasttoken", "include_prompt"};
  for (const auto& [key, value] : config.items())
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
      fail(ErrorCode::kBadConfig, "{}: unknown field \"{}\" (sentence-transformers' Pooling takes no "
           "such argument)", source, key);
  SentencePoolingConfig out;
  const std::optional<int64_t> dim = size_field(config, "word_embedding_dimension", int64_t{1} << 18, source);
  if (!dim) fail(ErrorCode::kBadConfig, "{}: field \"word_embedding_dimension\" is missing", source);
  out.word_embedding_dimension = *dim;
  // Pooling's defaults: mean on, everything else off; a "pooling_mode"
  // string overrides every flag.
  bool cls = bool_field(config, "pooling_mode_cls_token", false, source);
  bool mean = bool_field(config, "pooling_mode_mean_tokens", true, source);
  bool max = bool_field(config, "pooling_mode_max_tokens", false, source);
  bool sqrt_len = bool_field(config, "pooling_mode_mean_sqrt_len_tokens", false, source);
  bool weighted = bool_field(config, "pooling_mode_weightedmean_tokens", false, source);
  bool last = bool_field(config, "pooling_mode_lasttoken", false, source);
  bool_field(config, "include_prompt", true, source);  // only matters with a prompt, which is refused
  if (config.contains("pooling_mode") && !config["pooling_mode"].is_null()) {
    if (!config["pooling_mode"].is_string())
      fail(ErrorCode::kBadConfig, "{}: field \"pooling_mode\" must be a string", source);
    std::string mode = config["pooling_mode"].get<std::string>();
    for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (mode != "cls" && mode != "lasttoken" && mode != "max" && mode != "mean" &&
        mode != "mean_sqrt_len_tokens" && mode != "weightedmean")
      fail(ErrorCode::kBadConfig, "{}: field \"pooling_mode\" is {}; sentence-transformers knows cls, "
           "lasttoken, max, mean, mean_sqrt_len_tokens and weightedmean", source,
           config["pooling_mode"].dump());
    cls = mode == "cls";
    mean = mode == "mean";
    max = mode == "max";
    sqrt_len = mode == "mean_sqrt_len_tokens";
    weighted = mode == "weightedmean";
    last = mode == "lasttoken";
  }
  if (weighted)
    fail(ErrorCode::kUnsupported, "{}: weighted-mean pooling (pooling_mode_weightedmean_tokens) is not "
         "supported; vkinfer embed pools cls, max, mean and mean_sqrt_len_tokens", source);
  if (last)
    fail(ErrorCode::kUnsupported, "{}: last-token pooling (pooling_mode_lasttoken) is not supported; "
         "vkinfer embed pools cls, max, mean and mean_sqrt_len_tokens", source);
  if (cls) out.modes.push_back(SentencePooling::kCls);
  if (max) out.modes.push_back(SentencePooling::kMax);
  if (mean) out.modes.push_back(SentencePooling::kMean);
  if (sqrt_len) out.modes.push_back(SentencePooling::kMeanSqrtLen);
  if (out.modes.empty())
    fail(ErrorCode::kBadConfig, "{}: enables no pooling mode (every pooling_mode_* is false)", source);
  return out;
}

SentenceBertConfig parse_sentence_bert_config(std::string_view text, const std::string& source) {
  const json config = parse_json(text, source);
  if (!config.is_object()) fail(ErrorCode::kBadFile, "{}: expected a JSON object", source);
  for (const auto& [key, value] : config.items()) {
    if (key == "max_seq_length" || key == "do_lower_case") continue;
    // Arguments for loading from the Hub; empty ones change nothing.
    const bool empty_args = (key == "model_args" || key == "tokenizer_args" || key == "config_args") &&
                            (value.is_null() || (value.is_object() && value.empty()));
    if (!empty_args)
      fail(ErrorCode::kUnsupported, "{}: field \"{}\" is not supported (vkinfer embed reads "
           "max_seq_length and do_lower_case)", source, key);
  }
  SentenceBertConfig out;
  out.max_seq_length = size_field(config, "max_seq_length", kMaxSeqLength, source).value_or(0);
  out.do_lower_case = bool_field(config, "do_lower_case", false, source);
  return out;
}

void check_sentence_transformers_config(std::string_view text, const std::string& source) {
  const json config = parse_json(text, source);
  if (!config.is_object()) fail(ErrorCode::kBadFile, "{}: expected a JSON object", source);
  if (config.contains("default_prompt_name") && !config["default_prompt_name"].is_null())
    fail(ErrorCode::kUnsupported, "{}: sets default_prompt_name {}; vkinfer embed does not prepend "
         "prompts. HINT: prepend the prompt to each text and set it to null", source,
         config["default_prompt_name"].dump());
}

int64_t parse_model_max_length(std::string_view text, const std::string& source) {
  const json config = parse_json(text, source);
  if (!config.is_object()) fail(ErrorCode::kBadFile, "{}: expected a JSON object", source);
  if (!config.contains("model_max_length") || config["model_max_length"].is_null()) return 0;
  const json& v = config["model_max_length"];
  if (!v.is_number())
    fail(ErrorCode::kBadConfig, "{}: field \"model_max_length\" must be a number", source);
  const double length = v.get<double>();
  if (!(length >= 1))
    fail(ErrorCode::kBadConfig, "{}: field \"model_max_length\" must be at least 1 (got {})", source, v.dump());
  // transformers writes 1e30 ("no limit") as a huge integer.
  if (length >= 9.2e18) return 0;
  return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(length);
}

int64_t SentenceConfig::dim() const { return hidden_size * static_cast<int64_t>(pooling.size()); }

std::string pooling_mode_name(const std::vector<SentencePooling>& modes) {
  auto has = [&](SentencePooling m) { return std::find(modes.begin(), modes.end(), m) != modes.end(); };
  std::string name;
  auto add = [&](const char* part) { name += (name.empty() ? "" : "+") + std::string(part); };
  if (has(SentencePooling::kCls)) add("cls");
  if (has(SentencePooling::kMean)) add("mean");
  if (has(SentencePooling::kMax)) add("max");
  if (has(SentencePooling::kMeanSqrtLen)) add("mean_sqrt_len_tokens");
  return name;
}

SentenceConfig load_sentence_config(const fs::path& dir) {
  SentenceConfig out;
  out.model_dir = dir;
  out.pooling = {SentencePooling::kMean};
  SentenceBertConfig sbert;
  SentencePoolingConfig pooling;
  fs::path pooling_file;
  const bool modules = fs::exists(dir / "modules.json");
  if (modules) {
    const SentenceModules m = parse_modules_json(read_text(dir / "modules.json"), (dir / "modules.json").string());
    out.sentence_transformers = true;
    out.model_dir = dir / m.transformer_path;
    out.normalize = m.normalize;
    pooling_file = dir / m.pooling_path / "config.json";
    pooling = parse_pooling_config(read_text(pooling_file), pooling_file.string());
    out.pooling = pooling.modes;
    if (fs::exists(out.model_dir / "sentence_bert_config.json")) {
      const fs::path file = out.model_dir / "sentence_bert_config.json";
      sbert = parse_sentence_bert_config(read_text(file), file.string());
    }
    if (fs::exists(dir / "config_sentence_transformers.json")) {
      const fs::path file = dir / "config_sentence_transformers.json";
      check_sentence_transformers_config(read_text(file), file.string());
    }
  }
  const ModelConfig model = ModelConfig::load(out.model_dir);
  if (model.is_decoder())
    fail(ErrorCode::kUnsupported, "{}: model_type \"{}\" is a decoder; vkinfer embed runs BERT encoders "
         "(model_type \"bert\")", (out.model_dir / "config.json").string(), model.model_type);
  const BertConfig& bert = model.bert();
  out.hidden_size = bert.hidden_size;
  if (modules && pooling.word_embedding_dimension != bert.hidden_size)
    fail(ErrorCode::kBadConfig, "{}: word_embedding_dimension {} differs from the model's hidden_size {}",
         pooling_file.string(), pooling.word_embedding_dimension, bert.hidden_size);
  out.do_lower_case = sbert.do_lower_case;
  if (sbert.max_seq_length) {
    if (sbert.max_seq_length > bert.max_position_embeddings)
      fail(ErrorCode::kBadConfig, "{}: max_seq_length {} exceeds the model's max_position_embeddings {}",
           (out.model_dir / "sentence_bert_config.json").string(), sbert.max_seq_length,
           bert.max_position_embeddings);
    out.max_seq_length = sbert.max_seq_length;
  } else {
    // Transformer's inference: min(max_position_embeddings, tokenizer.model_max_length).
    out.max_seq_length = bert.max_position_embeddings;
    if (fs::exists(out.model_dir / "tokenizer_config.json")) {
      const fs::path file = out.model_dir / "tokenizer_config.json";
      const int64_t tokenizer_max = parse_model_max_length(read_text(file), file.string());
      if (tokenizer_max > 0) out.max_seq_length = std::min(out.max_seq_length, tokenizer_max);
    }
  }
  return out;
}

}  // namespace vkinfer
