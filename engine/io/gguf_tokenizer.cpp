// The tokenizer.json objects here are the ones transformers' GGUF loader
// (integrations/ggml.py: GGUFLlamaConverter, GGUFGPTConverter) and its
// tokenizers-side converters build from the same metadata.
#include "engine/io/gguf_tokenizer.h"

#include <algorithm>
#include <climits>
#include <unordered_map>

#include "engine/core/error.h"

namespace vkinfer {

using nlohmann::json;

namespace {

// llama.cpp's token types (llama_token_type).
constexpr int64_t kUnknown = 2, kControl = 3, kUserDefined = 4;

// The pre-tokenizer split patterns of the tokenizer.json files these `pre`
// values stand for (llama.cpp's llm_tokenizer_bpe picks the same regexes).
constexpr const char* kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Token strings end up in JSON, which holds only valid UTF-8 (nlohmann
// refuses the rest when it serialises); a file is refused up front instead.
void require_utf8(const std::string& text, const std::string& where, const std::string& what) {
  try {
    (void)json(text).dump();
  } catch (const json::exception&) {
    fail(ErrorCode::kBadFile, "{}: {} is not valid UTF-8", where, what);
  }
}

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json split_then_bytes(const char* pattern) {
  return {{"type", "Sequence"},
          {"pretokenizers",
           json::array({{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
                        byte_level(false)})}};
}

// Offsets where a UTF-8 string can be split between code points, as
// Python's merge[:index] does.
std::vector<size_t> code_point_cuts(const std::string& s) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) cuts.push_back(i);
  return cuts;
}

// GGUFTokenizerSkeleton: every split of a piece into two pieces of the
// vocabulary is a merge scored by the whole piece; within a piece, pairs
// with higher-scoring halves first; then all merges by score, highest first
// (a stable sort, so ties keep vocabulary order).
json merges_from_scores(const std::vector<std::string>& tokens, const std::vector<float>& scores) {
  std::unordered_map<std::string, float> score_of;
  std::vector<std::string> order;
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto [it, inserted] = score_of.try_emplace(tokens[i], scores[i]);
    if (inserted) order.push_back(tokens[i]); else it->second = scores[i];  // a dict: the last value wins
  }
  struct Merge { std::string left, right; float score; };
  std::vector<Merge> merges;
  for (const std::string& piece : order) {
    std::vector<Merge> local;
    for (size_t cut : code_point_cuts(piece)) {
      std::string left = piece.substr(0, cut), right = piece.substr(cut);
      if (score_of.count(left) && score_of.count(right)) local.push_back({left, right, score_of[piece]});
    }
    std::stable_sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      const float al = score_of[a.left], bl = score_of[b.left];
      if (al != bl) return al > bl;
      return score_of[a.right] > score_of[b.right];
    });
    for (Merge& m : local) merges.push_back(std::move(m));
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) { return a.score > b.score; });
  json out = json::array();
  for (const Merge& m : merges) out.push_back(json::array({m.left, m.right}));
  return out;
}

}  // namespace

bool gguf_has_tokenizer(const GgufFile& file) { return file.has("tokenizer.ggml.model"); }

GgufTokenizerFiles gguf_tokenizer_files(const GgufFile& file) {
  const std::string where = file.path().string();
  const std::string model = file.get_string("tokenizer.ggml.model");
  const std::vector<std::string> tokens = file.get_strings("tokenizer.ggml.tokens");
  const auto n = static_cast<int64_t>(tokens.size());
  for (int64_t i = 0; i < n; ++i) require_utf8(tokens[i], where, fmt::format("tokenizer.ggml.tokens[{}]", i));
  std::vector<int64_t> types(tokens.size(), 1);
  if (file.has("tokenizer.ggml.token_type")) {
    types = file.get_ints("tokenizer.ggml.token_type");
    if (static_cast<int64_t>(types.size()) != n)
      fail(ErrorCode::kBadFile, "{}: tokenizer.ggml.token_type has {} entries for {} tokens", where, types.size(), n);
  }
  auto id_of = [&](const char* key) -> std::optional<int64_t> {
    const GgufValue* v = file.find_value(key);
    if (!v) return std::nullopt;
    if (!v->is_integer() || (v->type == GgufValueType::kU64 && v->bits > INT64_MAX) || v->as_int64() < 0 ||
        v->as_int64() >= n)
      fail(ErrorCode::kBadFile, "{}: {} is not a token id in [0, {})", where, key, n);
    return v->as_int64();
  };
  auto flag = [&](const char* key, bool fallback) { return file.has(key) ? file.get_bool(key) : fallback; };

  json vocab = json::object();
  for (int64_t i = 0; i < n; ++i) vocab[tokens[i]] = i;
  json added = json::array();
  for (int64_t i = 0; i < n; ++i) {
    if (types[i] != kControl && types[i] != kUserDefined && types[i] != kUnknown) continue;
    const bool special = types[i] != kUserDefined;
    added.push_back({{"id", i}, {"content", tokens[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", !special}, {"special", special}});
  }

  json tok = json::object();
  json config = json::object();
  bool add_bos = false;
  tok["version"] = "1.0";
  tok["truncation"] = nullptr;
  tok["padding"] = nullptr;
  tok["added_tokens"] = added;
  if (model == "gpt2") {
    const std::string pre = file.has("tokenizer.ggml.pre") ? file.get_string("tokenizer.ggml.pre") : "default";
    bool ignore_merges = false;
    bool clean_spaces = true;
    tok["normalizer"] = nullptr;
    if (pre == "gpt2" || pre == "default") {
      tok["pre_tokenizer"] = byte_level(true);
    } else if (pre == "llama-bpe" || pre == "llama3") {
      tok["pre_tokenizer"] = split_then_bytes(kLlama3Split);
      ignore_merges = true;  // Llama 3's tokenizer.json
    } else if (pre == "qwen2") {
      tok["normalizer"] = {{"type", "NFC"}};
      tok["pre_tokenizer"] = split_then_bytes(kQwen2Split);
    } else if (pre == "smollm" || pre == "starcoder" || pre == "refact") {
      // llama.cpp splits off every digit (\p{N}) before GPT-2's regex: the
      // HF files say Digits(individual_digits) then ByteLevel (SmolLM,
      // StarCoder); SmolLM also keeps spaces before punctuation on decode.
      tok["pre_tokenizer"] = {{"type", "Sequence"},
                              {"pretokenizers", json::array({{{"type", "Digits"}, {"individual_digits", true}},
                                                             byte_level(true)})}};
      clean_spaces = pre != "smollm";
    } else {
      fail(ErrorCode::kUnsupported, "{}: tokenizer.ggml.pre \"{}\" is not a pre-tokenizer vkinfer builds "
           "(gpt2, default, llama-bpe, qwen2, smollm, starcoder, refact)", where, pre);
    }
    json merges = json::array();
    for (const std::string& m : file.has("tokenizer.ggml.merges") ? file.get_strings("tokenizer.ggml.merges")
                                                                   : std::vector<std::string>{}) {
      require_utf8(m, where, "a tokenizer.ggml.merges entry");
      const size_t space = m.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 == m.size() || m.find(' ', space + 1) != std::string::npos)
        fail(ErrorCode::kBadFile, "{}: tokenizer.ggml.merges entry \"{}\" is not \"left right\"", where, m);
      merges.push_back(json::array({m.substr(0, space), m.substr(space + 1)}));
    }
    tok["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                    {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                    {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", ignore_merges},
                    {"vocab", vocab}, {"merges", merges}};
    tok["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    add_bos = flag("tokenizer.ggml.add_bos_token", false);
    config["clean_up_tokenization_spaces"] = clean_spaces;
  } else if (model == "llama") {
    const std::vector<float> scores = file.get_floats("tokenizer.ggml.scores");
    if (static_cast<int64_t>(scores.size()) != n)
      fail(ErrorCode::kBadFile, "{}: tokenizer.ggml.scores has {} entries for {} tokens", where, scores.size(), n);
    const bool space_prefix = flag("tokenizer.ggml.add_space_prefix", true);
    json normalizers = json::array();
    if (space_prefix) normalizers.push_back({{"type", "Prepend"}, {"prepend", "\xe2\x96\x81"}});
    normalizers.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xe2\x96\x81"}});
    tok["normalizer"] = {{"type", "Sequence"}, {"normalizers", normalizers}};
    tok["pre_tokenizer"] = nullptr;
    const auto unk = id_of("tokenizer.ggml.unknown_token_id");
    tok["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", unk ? json(tokens[*unk]) : json(nullptr)},
                    {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                    {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false},
                    {"vocab", vocab}, {"merges", merges_from_scores(tokens, scores)}};
    json decoders = json::array({{{"type", "Replace"}, {"pattern", {{"String", "\xe2\x96\x81"}}}, {"content", " "}},
                                 {{"type", "ByteFallback"}},
                                 {{"type", "Fuse"}}});
    if (space_prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    tok["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
    add_bos = flag("tokenizer.ggml.add_bos_token", true);
    config["clean_up_tokenization_spaces"] = false;
  } else {
    fail(ErrorCode::kUnsupported, "{}: tokenizer.ggml.model \"{}\" is not a tokenizer vkinfer builds (gpt2, llama)",
         where, model);
  }

  const auto bos = id_of("tokenizer.ggml.bos_token_id");
  const auto eos = id_of("tokenizer.ggml.eos_token_id");
  const bool add_eos = flag("tokenizer.ggml.add_eos_token", false);
  if (add_bos && !bos) fail(ErrorCode::kBadFile, "{}: tokenizer.ggml.add_bos_token is set but there is no bos_token_id", where);
  if (add_eos && !eos) fail(ErrorCode::kBadFile, "{}: tokenizer.ggml.add_eos_token is set but there is no eos_token_id", where);
  // The template transformers' fast tokenizers carry: [bos] $A [eos], and
  // for pairs [bos] $A [eos] [bos] $B [eos].
  json single = json::array(), pair = json::array(), specials = json::object();
  auto special = [&](int64_t id, int type_id) {
    specials[tokens[id]] = {{"id", tokens[id]}, {"ids", json::array({id})}, {"tokens", json::array({tokens[id]})}};
    return json{{"SpecialToken", {{"id", tokens[id]}, {"type_id", type_id}}}};
  };
  for (int part = 0; part < 2; ++part) {
    json& out = part == 0 ? single : pair;
    for (int seq = 0; seq < (part == 0 ? 1 : 2); ++seq) {
      if (add_bos) out.push_back(special(*bos, seq));
      out.push_back({{"Sequence", {{"id", seq == 0 ? "A" : "B"}, {"type_id", seq}}}});
      if (add_eos) out.push_back(special(*eos, seq));
    }
  }
  tok["post_processor"] = add_bos || add_eos
                              ? json{{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair},
                                     {"special_tokens", specials}}
                              : json(nullptr);

  for (const auto& [key, field] : {std::pair{"tokenizer.ggml.bos_token_id", "bos_token"},
                                   std::pair{"tokenizer.ggml.eos_token_id", "eos_token"},
                                   std::pair{"tokenizer.ggml.unknown_token_id", "unk_token"},
                                   std::pair{"tokenizer.ggml.padding_token_id", "pad_token"}}) {
    if (auto id = id_of(key)) config[field] = tokens[*id];
  }
  config["add_bos_token"] = add_bos;
  config["add_eos_token"] = add_eos;
  if (file.has("tokenizer.chat_template")) {
    config["chat_template"] = file.get_string("tokenizer.chat_template");
    require_utf8(config["chat_template"].get<std::string>(), where, "tokenizer.chat_template");
  }
  // Through text and back, so that numbers have the JSON types parsed files
  // give them (non-negative integers unsigned), which the readers check.
  return {json::parse(tok.dump()), json::parse(config.dump())};
}

}  // namespace vkinfer
