// The model-independent half of every tokenizer: added-token splitting, the
// post-processor template, pair truncation, and decode's skip/clean-up steps.
// These follow transformers 4.40 (slow tokenizers) and `tokenizers`; where the
// two differ the comment says which one we follow.
#include "engine/text/tokenizer_pipeline.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/text/unicode.h"

namespace vkinfer::tokenizer_detail {
namespace {

// tokenizers' single_word test: the regex crate's \w before or after.
bool is_word_char(char32_t cp) { return unicode::is_word_char(cp); }

// Byte length of `text` without its trailing whitespace (code points).
size_t end_without_trailing_space(std::string_view text) {
  size_t end = 0, pos = 0;
  for (char32_t cp : unicode::to_code_points(text)) {
    std::string bytes;
    unicode::append_utf8(bytes, cp);
    pos += bytes.size();
    if (!unicode::is_white_space(cp)) end = pos;
  }
  return end;
}

size_t leading_space_bytes(std::string_view text) {
  size_t pos = 0;
  for (char32_t cp : unicode::to_code_points(text)) {
    if (!unicode::is_white_space(cp)) break;
    std::string bytes;
    unicode::append_utf8(bytes, cp);
    pos += bytes.size();
  }
  return pos;
}

// The code point that ends just before byte `pos` / starts at `pos`.
char32_t code_point_before(std::string_view text, size_t pos) {
  size_t start = pos;
  while (start > 0 && (static_cast<unsigned char>(text[start - 1]) & 0xC0) == 0x80) --start;
  if (start == 0) return 0;
  --start;
  const std::u32string cps = unicode::to_code_points(text.substr(start, pos - start));
  return cps.empty() ? 0 : cps.front();
}
char32_t code_point_at(std::string_view text, size_t pos) {
  if (pos >= text.size()) return 0;
  size_t end = pos + 1;
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  const std::u32string cps = unicode::to_code_points(text.substr(pos, end - pos));
  return cps.empty() ? 0 : cps.front();
}

}  // namespace

void AddedVocab::add(AddedToken token) {
  if (token.content.empty()) return;
  auto existing = by_content_.find(token.content);
  if (existing != by_content_.end()) {
    by_id_.erase(tokens_[existing->second].id);
    tokens_[existing->second] = token;
    by_id_[token.id] = existing->second;
    return;
  }
  by_content_[token.content] = tokens_.size();
  by_id_[token.id] = tokens_.size();
  by_first_byte_[static_cast<unsigned char>(token.content[0])].push_back(tokens_.size());
  patterns_.push_back(token.content);
  tokens_.push_back(std::move(token));
}

void AddedVocab::index_patterns() {
  for (auto& bucket : by_first_byte_) bucket.clear();
  for (size_t k = 0; k < patterns_.size(); ++k) {
    if (!patterns_[k].empty()) by_first_byte_[static_cast<unsigned char>(patterns_[k][0])].push_back(k);
  }
}

void AddedVocab::normalize_patterns(const Normalizer& normalizer) {
  for (size_t k = 0; k < tokens_.size(); ++k) {
    patterns_[k] = tokens_[k].normalized ? normalizer.apply(tokens_[k].content) : tokens_[k].content;
  }
  index_patterns();
}

std::vector<AddedVocab::Piece> AddedVocab::split(std::string_view text, bool normalized_tokens) const {
  std::vector<Piece> pieces;
  size_t plain_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    const AddedToken* best = nullptr;
    size_t best_size = 0;
    for (size_t k : by_first_byte_[static_cast<unsigned char>(text[i])]) {
      const AddedToken& t = tokens_[k];
      const std::string& pattern = patterns_[k];
      if (t.normalized != normalized_tokens || pattern.empty() || pattern.size() <= best_size) continue;
      if (text.compare(i, pattern.size(), pattern) != 0) continue;
      if (t.single_word && (is_word_char(code_point_before(text, i)) ||
                            is_word_char(code_point_at(text, i + pattern.size())))) {
        continue;
      }
      best = &t, best_size = pattern.size();
    }
    if (best == nullptr) {
      ++i;
      continue;
    }
    size_t plain_end = i;
    if (best->lstrip) plain_end = plain_start + end_without_trailing_space(text.substr(plain_start, i - plain_start));
    if (plain_end > plain_start) pieces.push_back({text.substr(plain_start, plain_end - plain_start), -1});
    pieces.push_back({text.substr(i, best_size), best->id});
    i += best_size;
    if (best->rstrip) i += leading_space_bytes(text.substr(i));
    plain_start = i;
  }
  if (plain_start < text.size()) pieces.push_back({text.substr(plain_start), -1});
  return pieces;
}

const AddedToken* AddedVocab::find(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

int32_t AddedVocab::find(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? -1 : tokens_[it->second].id;
}

int32_t AddedVocab::max_id() const {
  int32_t m = -1;
  for (const AddedToken& t : tokens_) m = std::max(m, t.id);
  return m;
}

size_t PostProcessor::added_tokens(bool is_pair) const {
  size_t n = 0;
  for (const TemplateItem& item : is_pair ? pair : single) n += item.ids.size();
  return n;
}

PipelineTokenizer::PipelineTokenizer(std::unique_ptr<TokenModel> model, AddedVocab added, PostProcessor post,
                                     SpecialIds special, bool clean_up_spaces, Normalizer normalizer)
    : model_(std::move(model)),
      added_(std::move(added)),
      post_(std::move(post)),
      clean_up_spaces_(clean_up_spaces),
      normalizer_(std::move(normalizer)) {
  added_.normalize_patterns(normalizer_);
  bos_id_ = special.bos, eos_id_ = special.eos, pad_id_ = special.pad;
  cls_id_ = special.cls, sep_id_ = special.sep, unk_id_ = special.unk;
}

std::vector<int32_t> PipelineTokenizer::encode_text(std::string_view text) const {
  unicode::to_code_points(text);  // reject ill-formed UTF-8 once, up front
  std::vector<int32_t> ids;
  // tokenizers' AddedVocabulary::extract_and_normalize: tokens that are not
  // normalized are split out of the raw text, the normalizer runs on each
  // piece between them, and normalized tokens are split out of its output.
  // A segment "at the start" begins at offset 0 of the input (Metaspace's
  // prepend_scheme "first" looks at that).
  for (const AddedVocab::Piece& raw : added_.split(text, false)) {
    if (raw.id >= 0) {
      ids.push_back(raw.id);
      continue;
    }
    const bool raw_at_start = raw.text.data() == text.data();
    const std::string normalized = normalizer_.apply(raw.text);
    for (const AddedVocab::Piece& piece : added_.split(normalized, true)) {
      if (piece.id >= 0) {
        ids.push_back(piece.id);
      } else {
        model_->encode_segment(piece.text, raw_at_start && piece.text.data() == normalized.data(), ids);
      }
    }
  }
  return ids;
}

Encoding PipelineTokenizer::apply_template(const std::vector<TemplateItem>& items, const std::vector<int32_t>& a,
                                           const std::vector<int32_t>* b) const {
  Encoding enc;
  for (const TemplateItem& item : items) {
    const std::vector<int32_t>* ids = item.sequence < 0 ? &item.ids : item.sequence == 0 ? &a : b;
    if (ids == nullptr) continue;
    enc.ids.insert(enc.ids.end(), ids->begin(), ids->end());
    enc.type_ids.insert(enc.type_ids.end(), ids->size(), item.type_id);
  }
  for (int32_t id : enc.ids) enc.tokens.push_back(id_to_token(id));
  return enc;
}

Encoding PipelineTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const std::vector<int32_t> a = encode_text(text);
  if (add_special_tokens) return apply_template(post_.single, a, nullptr);
  return apply_template({{0, {}, 0}}, a, nullptr);
}

Encoding PipelineTokenizer::encode_pair(std::string_view text, std::string_view pair, bool add_special_tokens,
                                        int max_length) const {
  std::vector<int32_t> a = encode_text(text);
  std::vector<int32_t> b = encode_text(pair);
  if (max_length < 0) fail(ErrorCode::kInvalidArgument, "encode_pair: max_length {} must be >= 0", max_length);
  if (max_length > 0) {
    const size_t special = add_special_tokens ? post_.added_tokens(true) : 0;
    const size_t total = a.size() + b.size() + special;
    if (total > static_cast<size_t>(max_length)) {
      // transformers' slow longest_first in closed form: first trim the longer
      // sequence down to the shorter one, then split the rest, the odd token
      // coming off the pair.
      const size_t remove = total - static_cast<size_t>(max_length);
      const size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
      const size_t first_remove = std::min(diff, remove);
      const size_t second_remove = remove - first_remove;
      size_t from_a, from_b;
      if (a.size() > b.size()) {
        from_a = first_remove + second_remove / 2;
        from_b = second_remove - second_remove / 2;
      } else {
        from_a = second_remove / 2;
        from_b = first_remove + second_remove - second_remove / 2;
      }
      a.resize(a.size() - std::min(from_a, a.size()));
      b.resize(b.size() - std::min(from_b, b.size()));
    }
  }
  if (add_special_tokens) return apply_template(post_.pair, a, &b);
  // Without special tokens transformers gives the pair type id 0 as well.
  return apply_template({{0, {}, 0}, {1, {}, 0}}, a, &b);
}

std::string_view PipelineTokenizer::token_view(int32_t id) const {
  if (const AddedToken* t = added_.find(id)) return t->content;
  if (const std::string* s = model_->id_to_token(id)) return *s;
  fail(ErrorCode::kInvalidArgument, "token id {} is outside the vocabulary (size {})", id, vocab_size());
}

std::string PipelineTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string_view> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    tokens.push_back(token_view(id));
  }
  std::string text = model_->decode_tokens(tokens);
  return clean_up_spaces_ ? clean_up_tokenization(std::move(text)) : text;
}

std::string PipelineTokenizer::id_to_token(int32_t id) const { return std::string(token_view(id)); }

int32_t PipelineTokenizer::token_to_id(std::string_view token) const {
  const int32_t added = added_.find(token);
  return added >= 0 ? added : model_->token_to_id(token);
}

int32_t PipelineTokenizer::vocab_size() const { return std::max(model_->size(), added_.max_id() + 1); }

bool PipelineTokenizer::is_special(int32_t id) const {
  // The union of the slow tokenizers' all_special_ids and the `tokenizers`
  // added tokens marked special; for the folders we load they agree.
  if (const AddedToken* t = added_.find(id); t != nullptr && t->special) return true;
  return id >= 0 && (id == bos_id_ || id == eos_id_ || id == pad_id_ || id == cls_id_ || id == sep_id_ ||
                     id == unk_id_);
}

size_t PipelineTokenizer::stream_pending_ids(const std::vector<int32_t>& ids) const {
  std::vector<std::string_view> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) tokens.push_back(token_view(id));
  return model_->stream_pending_ids(tokens);
}

std::string replace_in_order(std::string text, std::span<const ReplaceRule> rules) {
  for (const auto& [from, to] : rules) {
    if (text.find(from) == std::string::npos) continue;
    std::string out;
    out.reserve(text.size());
    size_t pos = 0;
    for (size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
      out.append(text, pos, hit - pos);
      out.append(to);
    }
    out.append(text, pos);
    text = std::move(out);
  }
  return text;
}

std::string clean_up_tokenization(std::string text) {
  static const ReplaceRule kRules[] = {
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  return replace_in_order(std::move(text), kRules);
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kBadFile, "{}: cannot open file", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kBadFile, "{}: malformed JSON ({}); re-download or fix the file", path.string(), e.what());
  }
}

}  // namespace vkinfer::tokenizer_detail
