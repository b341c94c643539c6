// Unicode helpers the tokenizers need: UTF-8 <-> code points, the character
// classes that GPT-2's pre-tokenizer regex and BERT's BasicTokenizer test, and
// the full case mapping / normalization forms Python's str.lower() and
// unicodedata.normalize() apply. Character data comes from ICU (libicu-dev)
// so that categories follow the Unicode tables, not a hand-copied subset.
#pragma once

#include <string>
#include <string_view>

namespace vkinfer::unicode {

// Strict decode: throws Error(kInvalidArgument) naming the byte offset of the
// first ill-formed sequence (tokenizer input must be valid UTF-8).
std::u32string to_code_points(std::string_view utf8);

void append_utf8(std::string& out, char32_t cp);
std::string to_utf8(std::u32string_view cps);

// Decodes arbitrary bytes, replacing each maximal ill-formed subpart with
// U+FFFD, exactly as Python's bytes.decode("utf-8", "replace") and Rust's
// String::from_utf8_lossy do (the GPT-2 decoders use them).
std::string decode_lossy(std::string_view bytes);

// Decodes the code point at byte `i` of text already known to be valid UTF-8
// and advances `i` past it (the pipeline validates input once, up front).
inline char32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return i += 1, b0;
  const size_t n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  char32_t cp = b0 & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

// True when `bytes` is well-formed UTF-8 (no replacement would be needed).
bool is_valid_utf8(std::string_view bytes);

// Character classes.
bool is_letter(char32_t cp);            // \p{L}: Lu Ll Lt Lm Lo
bool is_number(char32_t cp);            // \p{N}: Nd Nl No
bool is_white_space(char32_t cp);       // \s: the White_Space property
bool is_python_space(char32_t cp);      // str.isspace() / str.split()
bool is_punctuation(char32_t cp);       // general category P*
bool is_control_category(char32_t cp);  // general category C*
bool is_nonspacing_mark(char32_t cp);   // general category Mn
bool is_space_separator(char32_t cp);   // general category Zs
bool is_mark(char32_t cp);              // general category M*: Mn Mc Me
// \w as Rust's regex crate (UTS #18) has it: Alphabetic, M*, Nd, Pc and
// Join_Control; `tokenizers` tests single_word added tokens with it.
bool is_word_char(char32_t cp);

// Full case mapping in the root locale, as Python's str.lower() (e.g.
// U+0130 becomes "i" + U+0307, final sigma is contextual).
std::u32string to_lower(std::u32string_view text);
// Each character's full lowercase mapping on its own, with no context (so a
// final capital sigma becomes U+03C3), as Rust's char::to_lowercase() and
// hence the `tokenizers` Lowercase normalizer.
std::u32string to_lower_each(std::u32string_view text);
std::u32string nfd(std::u32string_view text);
std::u32string nfc(std::u32string_view text);
std::u32string nfkd(std::u32string_view text);
std::u32string nfkc(std::u32string_view text);

}  // namespace vkinfer::unicode
