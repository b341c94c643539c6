// Internal to the tokenizers: the pieces every Hugging Face tokenizer is made
// of, in the order `tokenizers` runs them: added tokens are split out of the
// raw text first, the Normalizer runs on the text between them, a TokenModel
// turns each remaining segment into ids (for tokenizer.json the
// pre-tokenizer -> model -> decoder chain of tokenizer_models.h; for the
// classic files the slow tokenizers' byte-level BPE or WordPiece), and a
// post-processor template adds the special tokens. PipelineTokenizer wires
// them into the public Tokenizer.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/text/tokenizer.h"
#include "engine/text/tokenizer_normalizer.h"

namespace vkinfer::tokenizer_detail {

// The algorithm-specific part of a tokenizer.
class TokenModel {
 public:
  virtual ~TokenModel() = default;
  // Appends the ids of one segment of text that holds no added token.
  // `at_start`: the segment begins at the start of the input.
  virtual void encode_segment(std::string_view text, bool at_start, std::vector<int32_t>& ids) const = 0;
  // Joins token strings (vocabulary entries and added-token contents) into
  // text the way the model's HF decoder does, before clean-up.
  virtual std::string decode_tokens(const std::vector<std::string_view>& tokens) const = 0;
  virtual const std::string* id_to_token(int32_t id) const = 0;  // nullptr when out of range
  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1 when absent
  virtual int32_t size() const = 0;
  virtual size_t stream_pending_ids(const std::vector<std::string_view>& /*tokens*/) const { return 0; }
};

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false;       // swallow whitespace on the left
  bool rstrip = false;       // swallow whitespace on the right
  bool single_word = false;  // only match when not inside a word
  // Matched in the normalized text (its content normalized too) rather than
  // in the raw text; `tokenizers` defaults it to !special.
  bool normalized = false;
};

// Tokens matched verbatim in the raw text before the model sees it.
class AddedVocab {
 public:
  void add(AddedToken token);  // a later entry with the same content wins
  struct Piece {
    std::string_view text;  // plain text when id < 0
    int32_t id = -1;
  };
  // Leftmost-longest matching of the tokens whose `normalized` flag equals
  // `normalized_tokens`, as the `tokenizers` Aho-Corasick matchers and the
  // slow tokenizers' trie do.
  std::vector<Piece> split(std::string_view text, bool normalized_tokens) const;
  // What normalized tokens are matched as: their content run through the
  // tokenizer's normalizer (tokenizers' refresh_added_tokens).
  void normalize_patterns(const Normalizer& normalizer);
  const AddedToken* find(int32_t id) const;
  int32_t find(std::string_view content) const;  // -1 when absent
  int32_t max_id() const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;
  void index_patterns();

  std::vector<std::string> patterns_;  // per token: the text split() looks for
  // Tokens by the first byte of their pattern, so that split() tries only the
  // few that can start at a position (Llama 3 has 256 added tokens).
  std::array<std::vector<size_t>, 256> by_first_byte_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
};

// TemplateProcessing: `sequence` 0 is the text, 1 the pair, -1 a special token.
struct TemplateItem {
  int sequence = -1;
  std::vector<int32_t> ids;
  int32_t type_id = 0;
};
struct PostProcessor {
  std::vector<TemplateItem> single{{0, {}, 0}};
  std::vector<TemplateItem> pair{{0, {}, 0}, {1, {}, 1}};
  size_t added_tokens(bool is_pair) const;
};

struct SpecialIds {
  int32_t bos = -1, eos = -1, pad = -1, cls = -1, sep = -1, unk = -1;
};

class PipelineTokenizer final : public Tokenizer {
 public:
  PipelineTokenizer(std::unique_ptr<TokenModel> model, AddedVocab added, PostProcessor post,
                    SpecialIds special, bool clean_up_spaces, Normalizer normalizer = {});

  Encoding encode(std::string_view text, bool add_special_tokens) const override;
  Encoding encode_pair(std::string_view text, std::string_view pair, bool add_special_tokens,
                       int max_length) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const override;
  std::string id_to_token(int32_t id) const override;
  int32_t token_to_id(std::string_view token) const override;
  int32_t vocab_size() const override;
  bool is_special(int32_t id) const override;

 protected:
  size_t stream_pending_ids(const std::vector<int32_t>& ids) const override;
  bool cleans_up_spaces() const override { return clean_up_spaces_; }

 private:
  std::vector<int32_t> encode_text(std::string_view text) const;
  Encoding apply_template(const std::vector<TemplateItem>& items, const std::vector<int32_t>& a,
                          const std::vector<int32_t>* b) const;
  std::string_view token_view(int32_t id) const;

  std::unique_ptr<TokenModel> model_;
  AddedVocab added_;
  PostProcessor post_;
  bool clean_up_spaces_;
  Normalizer normalizer_;
};

// HF's clean_up_tokenization (" ." -> "." and friends), in its exact order.
std::string clean_up_tokenization(std::string text);

// Python's str.replace chain: each rule replaces every non-overlapping
// occurrence, left to right, before the next rule runs.
using ReplaceRule = std::pair<std::string_view, std::string_view>;
std::string replace_in_order(std::string text, std::span<const ReplaceRule> rules);

// Reads and parses a JSON file; Error(kBadFile) names the file on failure.
nlohmann::json read_json_file(const std::filesystem::path& path);

// Model factories (one per tokenizer_<model>.cpp). `source` names the file
// the tables came from, for error messages.
struct BpeSource {
  std::vector<std::pair<std::string, int32_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  std::string vocab_source, merges_source;
  std::string continuing_subword_prefix;  // cut from a merge's right part
};
struct ByteLevelOptions {
  bool add_prefix_space = false;
  std::string unk_token;  // what a merge result missing from the vocabulary becomes
};
std::unique_ptr<TokenModel> make_byte_level_bpe(BpeSource source, ByteLevelOptions options);

struct WordPieceOptions {
  bool clean_text = true;
  bool tokenize_chinese_chars = true;
  bool lower_case = true;
  int strip_accents = -1;  // -1: follow lower_case (HF's None), 0: never, 1: always
  std::string unk_token = "[UNK]";
  std::string prefix = "##";
  int max_input_chars_per_word = 100;
};
std::unique_ptr<TokenModel> make_wordpiece(std::vector<std::string> vocab, std::string source,
                                           WordPieceOptions options);

}  // namespace vkinfer::tokenizer_detail
