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
