// Template source -> tokens, as jinja2 3.1's lexer produces them for the
// environment transformers renders chat templates in (trim_blocks and
// lstrip_blocks on): newlines normalized to "\n" and one trailing newline
// dropped; text between tags; `{{ }}`, `{% %}` and their expression tokens;
// comments and their whitespace removed; `{% raw %}` kept as text. The
// whitespace rules (`-` and `+` modifiers, trim_blocks' newline after a block
// or comment tag, lstrip_blocks' indentation before one) are applied here so
// that the parser sees the text exactly as jinja2 would output it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkinfer::jinja {

enum class Tok { kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
  Tok type = Tok::kEof;
  std::string text;  // data, name, operator, or a string literal's decoded value
  int line = 1;
  int64_t int_value = 0;
  double float_value = 0;
};

// Throws vkinfer::Error(kBadFile) naming the line for malformed source
// (an unclosed tag or string, an unknown character, unbalanced brackets).
std::vector<Token> lex(std::string_view source);

// How a token reads in an error message: 'name', 'end of statement block'...
std::string describe(const Token& token);

}  // namespace vkinfer::jinja
