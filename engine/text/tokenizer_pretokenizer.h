// Pre-tokenizers: the step of a tokenizer.json pipeline that cuts normalized
// text into the pieces the model tokenizes one by one. One small class per
// `tokenizers` type (Split, Digits, ByteLevel, Metaspace, Whitespace,
// WhitespaceSplit, CharDelimiterSplit, Punctuation, BertPreTokenizer,
// Sequence), built from its
// JSON by a registry keyed on "type"; semantics follow tokenizers 0.19's
// pre_tokenizers/*.rs and NormalizedString::split.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vkinfer::tokenizer_detail {

struct PreToken {
  std::string text;
  // True when the piece begins at the start of the original input (a
  // Metaspace with prepend_scheme "first" prepends only there).
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces each piece by its sub-pieces, in order; empty pieces vanish.
  virtual void split(std::vector<PreToken>& pieces) const = 0;
};

// Builds a pre-tokenizer from tokenizer.json's "pre_tokenizer" value; nullptr
// for null. Error(kUnsupported) names the file and an unknown type;
// Error(kBadFile) a malformed field.
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& spec, const std::filesystem::path& file);

// How Split and friends keep the delimiters they find
// (tokenizers' SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// One (begin, end, is_match) run per stretch of text, covering it in order,
// as tokenizers' Pattern::find_matches returns.
struct MatchRun {
  size_t begin, end;
  bool is_match;
};
// Applies `behavior` to the runs and returns the [begin, end) pieces kept.
std::vector<std::pair<size_t, size_t>> apply_behavior(const std::vector<MatchRun>& runs, SplitBehavior behavior);

// GPT-2's pre-tokenizer regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// hand-written (it runs on every byte-level encode): [begin, end) code point
// ranges of `text`.
std::vector<std::pair<size_t, size_t>> gpt2_split(const std::u32string& text);

// GPT-2's bytes_to_unicode(): the printable stand-in of every byte.
const std::array<char32_t, 256>& byte_to_char();
// The UTF-8 of byte_to_char()[b], precomputed.
const std::array<std::string, 256>& byte_to_utf8();

}  // namespace vkinfer::tokenizer_detail
