// WordPiece (BERT): BertTokenizer's BasicTokenizer (clean text, split CJK
// characters, lower-case and strip accents, split punctuation) followed by
// greedy longest-match-first WordPiece with the "##" continuation prefix.
// The reference is transformers 4.40's slow BertTokenizer.
#include "engine/core/error.h"
#include "engine/text/tokenizer_pipeline.h"
#include "engine/text/unicode.h"

namespace vkinfer::tokenizer_detail {
namespace {

// BERT's _is_chinese_char: the CJK Unified Ideograph blocks (not Japanese
// kana or Hangul, which are written with spaces or split by WordPiece).
bool is_cjk(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// BERT's _is_punctuation counts all non-alphanumeric ASCII as punctuation
// ("$", "^", "`" are symbols in Unicode) plus every P* character.
bool is_bert_punctuation(char32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  return unicode::is_punctuation(cp);
}

bool is_bert_whitespace(char32_t cp) {
  return cp == U' ' || cp == U'\t' || cp == U'\n' || cp == U'\r' || unicode::is_space_separator(cp);
}

bool is_bert_control(char32_t cp) {
  if (cp == U'\t' || cp == U'\n' || cp == U'\r') return false;
  return unicode::is_control_category(cp);
}

std::u32string strip_accents(std::u32string_view word) {
  std::u32string out;
  for (char32_t cp : unicode::nfd(word)) {
    if (!unicode::is_nonspacing_mark(cp)) out.push_back(cp);
  }
  return out;
}

class WordPiece final : public TokenModel {
 public:
  WordPiece(std::vector<std::string> vocab, std::string source, WordPieceOptions options)
      : tokens_(std::move(vocab)), options_(std::move(options)) {
    if (tokens_.empty()) fail(ErrorCode::kBadFile, "{}: the vocabulary is empty", source);
    for (size_t i = 0; i < tokens_.size(); ++i) vocab_[tokens_[i]] = static_cast<int32_t>(i);
    unk_id_ = token_to_id(options_.unk_token);
    if (unk_id_ < 0) {
      fail(ErrorCode::kBadFile, "{}: unk_token '{}' is not in the vocabulary", source, options_.unk_token);
    }
  }

  void encode_segment(std::string_view text, bool /*at_start*/, std::vector<int32_t>& ids) const override {
    for (const std::u32string& word : basic_tokenize(text)) word_piece(word, ids);
  }

  // transformers' convert_tokens_to_string: " ".join(tokens).replace(" ##", "").strip()
  std::string decode_tokens(const std::vector<std::string_view>& tokens) const override {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) joined += ' ';
      joined += tokens[i];
    }
    const std::string marker = " " + options_.prefix;
    std::string out;
    size_t pos = 0;
    for (size_t hit; (hit = joined.find(marker, pos)) != std::string::npos; pos = hit + marker.size()) {
      out.append(joined, pos, hit - pos);
    }
    out.append(joined, pos);
    std::u32string cps = unicode::to_code_points(out);
    size_t begin = 0, end = cps.size();
    while (begin < end && unicode::is_python_space(cps[begin])) ++begin;
    while (end > begin && unicode::is_python_space(cps[end - 1])) --end;
    return unicode::to_utf8(std::u32string_view(cps).substr(begin, end - begin));
  }

  const std::string* id_to_token(int32_t id) const override {
    return id >= 0 && id < size() ? &tokens_[static_cast<size_t>(id)] : nullptr;
  }
  int32_t token_to_id(std::string_view token) const override {
    auto it = vocab_.find(std::string(token));
    return it == vocab_.end() ? -1 : it->second;
  }
  int32_t size() const override { return static_cast<int32_t>(tokens_.size()); }

 private:
  std::vector<std::u32string> basic_tokenize(std::string_view text) const {
    std::u32string cleaned;
    for (char32_t cp : unicode::to_code_points(text)) {
      if (options_.clean_text) {
        if (cp == 0 || cp == 0xFFFD || is_bert_control(cp)) continue;
        if (is_bert_whitespace(cp)) cp = U' ';
      }
      if (options_.tokenize_chinese_chars && is_cjk(cp)) {
        cleaned += U' ', cleaned += cp, cleaned += U' ';
      } else {
        cleaned += cp;
      }
    }
    // transformers >= 4.31 NFC-normalizes before splitting so that composed and
    // decomposed spellings of a word tokenize alike.
    cleaned = unicode::nfc(cleaned);
    const bool strip = options_.strip_accents == 1 || (options_.strip_accents < 0 && options_.lower_case);
    std::vector<std::u32string> words;
    size_t i = 0;
    while (i < cleaned.size()) {
      while (i < cleaned.size() && unicode::is_python_space(cleaned[i])) ++i;
      size_t j = i;
      while (j < cleaned.size() && !unicode::is_python_space(cleaned[j])) ++j;
      if (j == i) break;
      std::u32string word = cleaned.substr(i, j - i);
      i = j;
      if (options_.lower_case) word = unicode::to_lower(word);
      if (strip) word = strip_accents(word);
      // Split punctuation into single-character words; other runs stay whole.
      std::u32string current;
      for (char32_t cp : word) {
        if (unicode::is_python_space(cp)) {
          if (!current.empty()) words.push_back(std::move(current)), current.clear();
        } else if (is_bert_punctuation(cp)) {
          if (!current.empty()) words.push_back(std::move(current)), current.clear();
          words.push_back(std::u32string(1, cp));
        } else {
          current += cp;
        }
      }
      if (!current.empty()) words.push_back(std::move(current));
    }
    return words;
  }

  void word_piece(const std::u32string& word, std::vector<int32_t>& ids) const {
    if (static_cast<int>(word.size()) > options_.max_input_chars_per_word) {
      ids.push_back(unk_id_);
      return;
    }
    std::vector<int32_t> pieces;
    size_t start = 0;
    while (start < word.size()) {
      int32_t found = -1;
      size_t end = word.size();
      for (; end > start; --end) {
        std::string candidate = start > 0 ? options_.prefix : std::string();
        candidate += unicode::to_utf8(std::u32string_view(word).substr(start, end - start));
        found = token_to_id(candidate);
        if (found >= 0) break;
      }
      if (found < 0) {
        ids.push_back(unk_id_);  // one unknown piece makes the whole word [UNK]
        return;
      }
      pieces.push_back(found);
      start = end;
    }
    ids.insert(ids.end(), pieces.begin(), pieces.end());
  }

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> vocab_;
  WordPieceOptions options_;
  int32_t unk_id_ = -1;
};

}  // namespace

std::unique_ptr<TokenModel> make_wordpiece(std::vector<std::string> vocab, std::string source,
                                           WordPieceOptions options) {
  return std::make_unique<WordPiece>(std::move(vocab), std::move(source), std::move(options));
}

}  // namespace vkinfer::tokenizer_detail
