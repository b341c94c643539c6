// Oniguruma regexes, used where tokenizer.json names a pattern (the Split
// pre-tokenizer, Replace normalizers and decoders). HF `tokenizers` compiles
// its patterns with Oniguruma too, so \p{L}, (?i:...), (?!\S) and \s mean
// exactly what they mean there. Every search is bounded: a pattern that
// backtracks catastrophically on some input fails with one Error instead of
// running for minutes.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vkinfer::tokenizer_detail {

class Regex {
 public:
  // Error(kBadFile) naming `where` (file and field), the pattern and
  // Oniguruma's message when the pattern does not compile.
  Regex(std::string pattern, std::string where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Every match [begin, end) in byte offsets, left to right, as the onig
  // crate's find_iter yields them (an empty match right after the previous
  // match is skipped by one character). Error(kInvalidArgument) naming the
  // pattern when the search exceeds its backtracking budget.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

  // Every match replaced by `content`, as tokenizers' Replace normalizer and
  // decoder do (an empty match inserts `content`).
  std::string replace_all(std::string_view text, std::string_view content) const;

  const std::string& pattern() const { return pattern_; }

  // Oniguruma's own escaping of a literal, as `regex::escape` would produce:
  // tokenizers turns String patterns into a regex of the escaped literal.
  static std::string escape(std::string_view literal);

 private:
  struct Impl;
  std::string pattern_, where_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vkinfer::tokenizer_detail
