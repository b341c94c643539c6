// The WordModels of tokenizer_models.h and the PipelineModel chaining them
// with a pre-tokenizer and a decoder. BPE shares its vocabulary and merge
// loop (BpeTables) with the classic vocab.json + merges.txt path.
#include "engine/text/tokenizer_models.h"

#include <array>
#include <climits>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/text/tokenizer_bpe_tables.h"
#include "engine/text/unicode.h"

namespace vkinfer::tokenizer_detail {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Vocab = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// A string-or-null field; "" when null or absent.
std::string optional_string(const json& model, const char* field, const fs::path& file) {
  if (!model.contains(field) || model[field].is_null()) return "";
  if (!model[field].is_string()) fail(ErrorCode::kBadFile, "{}: model field '{}' is not a string", file.string(), field);
  return model[field].get<std::string>();
}

bool optional_bool(const json& model, const char* field, bool fallback, const fs::path& file) {
  if (!model.contains(field) || model[field].is_null()) return fallback;
  if (!model[field].is_boolean()) fail(ErrorCode::kBadFile, "{}: model field '{}' is not a boolean", file.string(), field);
  return model[field].get<bool>();
}

std::vector<std::pair<std::string, int32_t>> read_vocab(const json& model, const fs::path& file) {
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    fail(ErrorCode::kBadFile, "{}: model needs an object 'vocab' of token -> id", file.string());
  }
  std::vector<std::pair<std::string, int32_t>> vocab;
  vocab.reserve(model["vocab"].size());
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      fail(ErrorCode::kBadFile, "{}: vocab entry '{}' is not an integer id in [0, 2^31)", file.string(), token);
    }
    vocab.emplace_back(token, id.get<int32_t>());
  }
  if (vocab.empty()) fail(ErrorCode::kBadFile, "{}: the model's vocabulary is empty", file.string());
  return vocab;
}

// A vocabulary with its reverse table, for WordPiece and WordLevel.
class VocabTable {
 public:
  VocabTable(const std::vector<std::pair<std::string, int32_t>>& entries, const fs::path& file) {
    int64_t max_id = -1;
    for (const auto& [token, id] : entries) max_id = std::max<int64_t>(max_id, id);
    if (max_id >= static_cast<int64_t>(entries.size()) + (int64_t{1} << 20)) {
      fail(ErrorCode::kBadFile, "{}: token id {} is far beyond the {} vocabulary entries; the file is corrupt",
           file.string(), max_id, entries.size());
    }
    tokens_.resize(static_cast<size_t>(max_id + 1));
    present_.assign(tokens_.size(), false);
    for (const auto& [token, id] : entries) {
      vocab_[token] = id;
      tokens_[id] = token;
      present_[id] = true;
    }
  }
  int32_t id(std::string_view token) const {
    auto it = vocab_.find(token);
    return it == vocab_.end() ? -1 : it->second;
  }
  const std::string* token(int32_t id) const {
    return id >= 0 && id < size() && present_[id] ? &tokens_[id] : nullptr;
  }
  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }

 private:
  Vocab vocab_;
  std::vector<std::string> tokens_;
  std::vector<bool> present_;
};

class BpeModel final : public WordModel {
 public:
  static std::unique_ptr<WordModel> make(const json& model, const fs::path& file, const ModelOptions& options) {
    if (model.contains("dropout") && !model["dropout"].is_null() &&
        !(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0)) {
      fail(ErrorCode::kUnsupported, "{}: BPE dropout {} makes encoding random; only null is supported", file.string(),
           model["dropout"].dump());
    }
    BpeSource src;
    src.vocab_source = src.merges_source = file.string();
    src.vocab = read_vocab(model, file);
    if (!model.contains("merges") || !model["merges"].is_array()) {
      fail(ErrorCode::kBadFile, "{}: BPE model needs an array 'merges'", file.string());
    }
    for (const json& m : model["merges"]) {
      // Older files write "left right", newer ones ["left", "right"].
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
          fail(ErrorCode::kBadFile, "{}: merge '{}' is not of the form 'left right'", file.string(), s);
        }
        src.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        src.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        fail(ErrorCode::kBadFile, "{}: a merge is neither \"left right\" nor [left, right]", file.string());
      }
    }
    auto bpe = std::unique_ptr<BpeModel>(new BpeModel());
    src.continuing_subword_prefix = optional_string(model, "continuing_subword_prefix", file);
    bpe->tables_ = std::make_unique<BpeTables>(src);
    bpe->prefix_ = src.continuing_subword_prefix;
    bpe->suffix_ = optional_string(model, "end_of_word_suffix", file);
    bpe->unk_token_ = optional_string(model, "unk_token", file);
    bpe->unk_id_ = bpe->unk_token_.empty() ? -1 : bpe->tables_->id(bpe->unk_token_);
    const std::string merge_unk = bpe->unk_token_.empty() ? options.fallback_unk_token : bpe->unk_token_;
    bpe->missing_merge_unk_id_ = merge_unk.empty() ? -1 : bpe->tables_->id(merge_unk);
    bpe->fuse_unk_ = optional_bool(model, "fuse_unk", false, file);
    bpe->byte_fallback_ = optional_bool(model, "byte_fallback", false, file);
    bpe->ignore_merges_ = optional_bool(model, "ignore_merges", false, file);
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      bpe->byte_ids_[b] = bpe->tables_->id(name);
    }
    return bpe;
  }

  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override {
    if (word.empty()) return;
    const bool cacheable = word.size() <= kCacheWordBytes;
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      auto it = cache_.find(word);
      if (it != cache_.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> symbols;
    const int32_t whole = ignore_merges_ ? tables_->id(word) : -1;
    if (whole >= 0) {
      symbols.push_back(whole);
    } else {
      split_word(word, symbols);
      tables_->merge(symbols);
      tables_->replace_unknown(symbols, missing_merge_unk_id_);
    }
    ids.insert(ids.end(), symbols.begin(), symbols.end());
    if (cacheable) {
      std::lock_guard<std::mutex> lock(cache_mutex_);
      // Bounded so that a long stream of unique words cannot grow it forever.
      if (cache_.size() >= kCacheLimit) cache_.clear();
      cache_.emplace(std::string(word), std::move(symbols));
    }
  }

  const std::string* id_to_token(int32_t id) const override { return tables_->token(id); }
  int32_t token_to_id(std::string_view token) const override { return tables_->id(token); }
  int32_t size() const override { return tables_->size(); }

 private:
  BpeModel() = default;

  // tokenizers' BPE::merge_word up to merge_all: one symbol per character
  // (with the subword prefix / word suffix), <0xXX> bytes for unknown
  // characters under byte_fallback, else unk (fused when asked), else the
  // character is dropped.
  void split_word(std::string_view w, std::vector<int32_t>& symbols) const {
    int32_t pending_unk = -1;  // tokenizers adds an unk only when the next known symbol (or the end) arrives
    std::string key;
    for (size_t i = 0; i < w.size();) {
      const size_t begin = i;
      unicode::next_code_point(w, i);
      std::string_view s = w.substr(begin, i - begin);
      if ((begin > 0 && !prefix_.empty()) || (i == w.size() && !suffix_.empty())) {
        key.clear();
        if (begin > 0) key += prefix_;
        key += s;
        if (i == w.size()) key += suffix_;
        s = key;
      }
      if (const int32_t id = tables_->id(s); id >= 0) {
        if (pending_unk >= 0) symbols.push_back(pending_unk), pending_unk = -1;
        symbols.push_back(id);
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        for (char b : s) all = all && byte_ids_[static_cast<unsigned char>(b)] >= 0;
        if (all) {
          for (char b : s) symbols.push_back(byte_ids_[static_cast<unsigned char>(b)]);
          continue;
        }
      }
      if (unk_token_.empty()) continue;
      if (unk_id_ < 0) {
        fail(ErrorCode::kInvalidArgument, "BPE unk_token '{}' is not in the vocabulary, and '{}' needs it",
             unk_token_, std::string(s));
      }
      if (pending_unk >= 0 && !fuse_unk_) symbols.push_back(pending_unk);
      pending_unk = unk_id_;
    }
    if (pending_unk >= 0) symbols.push_back(pending_unk);
  }

  static constexpr size_t kCacheLimit = 1 << 16;
  static constexpr size_t kCacheWordBytes = 256;
  std::unique_ptr<BpeTables> tables_;
  std::string prefix_, suffix_, unk_token_;
  int32_t unk_id_ = -1, missing_merge_unk_id_ = -1;
  bool fuse_unk_ = false, byte_fallback_ = false, ignore_merges_ = false;
  std::array<int32_t, 256> byte_ids_{};
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

class WordPieceModel final : public WordModel {
 public:
  static std::unique_ptr<WordModel> make(const json& model, const fs::path& file, const ModelOptions&) {
    auto wp = std::make_unique<WordPieceModel>(read_vocab(model, file), file);
    wp->unk_token_ = model.contains("unk_token") && model["unk_token"].is_string() ? model["unk_token"].get<std::string>() : "[UNK]";
    wp->prefix_ = model.contains("continuing_subword_prefix") && model["continuing_subword_prefix"].is_string()
                      ? model["continuing_subword_prefix"].get<std::string>() : "##";
    wp->max_chars_ = model.contains("max_input_chars_per_word") && model["max_input_chars_per_word"].is_number_unsigned()
                         ? model["max_input_chars_per_word"].get<size_t>() : 100;
    wp->unk_id_ = wp->vocab_.id(wp->unk_token_);
    return wp;
  }
  WordPieceModel(const std::vector<std::pair<std::string, int32_t>>& entries, const fs::path& file) : vocab_(entries, file) {}

  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override {
    size_t chars = 0;
    for (size_t i = 0; i < word.size(); unicode::next_code_point(word, i)) ++chars;
    if (chars > max_chars_) return push_unk(ids);
    std::vector<int32_t> pieces;
    std::string candidate;
    for (size_t start = 0; start < word.size();) {
      size_t end = word.size();
      int32_t found = -1;
      while (start < end) {
        candidate.assign(start > 0 ? prefix_ : std::string());
        candidate.append(word.substr(start, end - start));
        if ((found = vocab_.id(candidate)) >= 0) break;
        do --end; while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
      }
      if (found < 0) return push_unk(ids);  // one unknown piece makes the whole word unk
      pieces.push_back(found);
      start = end;
    }
    ids.insert(ids.end(), pieces.begin(), pieces.end());
  }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int32_t token_to_id(std::string_view token) const override { return vocab_.id(token); }
  int32_t size() const override { return vocab_.size(); }

 private:
  void push_unk(std::vector<int32_t>& ids) const {
    if (unk_id_ < 0) fail(ErrorCode::kInvalidArgument, "WordPiece unk_token '{}' is not in the vocabulary", unk_token_);
    ids.push_back(unk_id_);
  }
  VocabTable vocab_;
  std::string unk_token_, prefix_;
  size_t max_chars_ = 100;
  int32_t unk_id_ = -1;
};

class WordLevelModel final : public WordModel {
 public:
  static std::unique_ptr<WordModel> make(const json& model, const fs::path& file, const ModelOptions&) {
    auto wl = std::make_unique<WordLevelModel>(read_vocab(model, file), file);
    wl->unk_token_ = optional_string(model, "unk_token", file);
    wl->unk_id_ = wl->vocab_.id(wl->unk_token_);
    return wl;
  }
  WordLevelModel(const std::vector<std::pair<std::string, int32_t>>& entries, const fs::path& file) : vocab_(entries, file) {}
  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override {
    int32_t id = vocab_.id(word);
    if (id < 0) id = unk_id_;
    if (id < 0) fail(ErrorCode::kInvalidArgument, "WordLevel: '{}' is not in the vocabulary and there is no unk_token", std::string(word));
    ids.push_back(id);
  }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  int32_t token_to_id(std::string_view token) const override { return vocab_.id(token); }
  int32_t size() const override { return vocab_.size(); }

 private:
  VocabTable vocab_;
  std::string unk_token_;
  int32_t unk_id_ = -1;
};

class PipelineModel final : public TokenModel {
 public:
  PipelineModel(std::unique_ptr<PreTokenizer> pre, std::unique_ptr<WordModel> model, std::unique_ptr<Decoder> decoder)
      : pre_(std::move(pre)), model_(std::move(model)), decoder_(std::move(decoder)) {}

  void encode_segment(std::string_view text, bool at_start, std::vector<int32_t>& ids) const override {
    if (text.empty()) return;
    if (!pre_) return model_->tokenize(text, ids);
    std::vector<PreToken> pieces{{std::string(text), at_start}};
    pre_->split(pieces);
    for (const PreToken& piece : pieces) model_->tokenize(piece.text, ids);
  }
  std::string decode_tokens(const std::vector<std::string_view>& tokens) const override {
    return decode_tokens_with(decoder_.get(), tokens);
  }
  const std::string* id_to_token(int32_t id) const override { return model_->id_to_token(id); }
  int32_t token_to_id(std::string_view token) const override { return model_->token_to_id(token); }
  int32_t size() const override { return model_->size(); }
  size_t stream_pending_ids(const std::vector<std::string_view>& tokens) const override {
    if (!decoder_ || !decoder_->joins_byte_runs()) return 0;
    size_t pending = 0;
    while (pending < tokens.size() && byte_token_value(tokens[tokens.size() - 1 - pending]) >= 0) ++pending;
    return pending;
  }

 private:
  std::unique_ptr<PreTokenizer> pre_;
  std::unique_ptr<WordModel> model_;
  std::unique_ptr<Decoder> decoder_;
};

using Factory = std::unique_ptr<WordModel> (*)(const json&, const fs::path&, const ModelOptions&);
const std::unordered_map<std::string, Factory>& registry() {
  static const std::unordered_map<std::string, Factory> kRegistry = {
      {"BPE", &BpeModel::make}, {"WordPiece", &WordPieceModel::make}, {"WordLevel", &WordLevelModel::make}};
  return kRegistry;
}

}  // namespace

std::unique_ptr<WordModel> make_word_model(const json& model, const fs::path& file, const ModelOptions& options) {
  if (!model.is_object()) fail(ErrorCode::kBadFile, "{}: 'model' is not an object", file.string());
  std::string type = model.contains("type") && model["type"].is_string() ? model["type"].get<std::string>() : "";
  // Files written before "type" was serialized: tell the models apart as
  // tokenizers' untagged deserializer does.
  if (type.empty()) type = model.contains("merges") ? "BPE" : model.contains("continuing_subword_prefix") ? "WordPiece" : "WordLevel";
  auto it = registry().find(type);
  if (it == registry().end()) {
    fail(ErrorCode::kUnsupported, "{}: tokenizer model type '{}' is not supported (supported: BPE, WordPiece, WordLevel)",
         file.string(), type);
  }
  return it->second(model, file, options);
}

std::unique_ptr<TokenModel> make_pipeline_model(std::unique_ptr<PreTokenizer> pre, std::unique_ptr<WordModel> model,
                                                std::unique_ptr<Decoder> decoder) {
  return std::make_unique<PipelineModel>(std::move(pre), std::move(model), std::move(decoder));
}

}  // namespace vkinfer::tokenizer_detail
