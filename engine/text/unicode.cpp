// ICU-backed implementation of unicode.h. ICU works in UTF-16, so the
// normalization and case-mapping helpers convert at the boundary; the
// tokenizers call them once per word or text, not per character.
#include "engine/text/unicode.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <vector>

#include "engine/core/error.h"

namespace vkinfer::unicode {
namespace {

// Length of the longest well-formed prefix of the sequence starting at
// bytes[i] (0 for a stray byte) and the total length a complete sequence with
// that lead byte needs. Follows Unicode 15 Table 3-7 (well-formed byte
// sequences), which is what "maximal subpart" replacement is defined on.
struct SequenceScan {
  size_t valid_prefix;  // bytes that belong to the (possibly truncated) sequence
  size_t needed;        // bytes a complete sequence has; 0 for a stray byte
  char32_t cp;          // decoded value when valid_prefix == needed
};

SequenceScan scan_sequence(std::string_view bytes, size_t i) {
  const auto b0 = static_cast<unsigned char>(bytes[i]);
  if (b0 < 0x80) return {1, 1, b0};
  size_t needed = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  char32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    needed = 2, cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    needed = 3, cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    needed = 4, cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {0, 0, 0};
  }
  size_t k = 1;
  for (; k < needed && i + k < bytes.size(); ++k) {
    const auto b = static_cast<unsigned char>(bytes[i + k]);
    const unsigned char min = (k == 1) ? lo : 0x80;
    const unsigned char max = (k == 1) ? hi : 0xBF;
    if (b < min || b > max) break;
    cp = (cp << 6) | (b & 0x3F);
  }
  return {k, needed, cp};
}

std::u16string to_utf16(std::u32string_view text) {
  std::u16string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp <= 0xFFFF) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      out.push_back(static_cast<char16_t>(U16_LEAD(cp)));
      out.push_back(static_cast<char16_t>(U16_TRAIL(cp)));
    }
  }
  return out;
}

std::u32string from_utf16(const std::u16string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    UChar32 cp;
    U16_NEXT(text.data(), i, text.size(), cp);
    out.push_back(static_cast<char32_t>(cp));
  }
  return out;
}

// Runs an ICU UTF-16 transform that reports the needed size on overflow.
template <typename Fn>
std::u32string transform_utf16(std::u32string_view text, const char* what, Fn&& fn) {
  const std::u16string src = to_utf16(text);
  std::u16string dst(src.size() + 16, u'\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    UErrorCode status = U_ZERO_ERROR;
    const int32_t n = fn(dst.data(), static_cast<int32_t>(dst.size()), src.data(),
                         static_cast<int32_t>(src.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
      dst.assign(static_cast<size_t>(n) + 1, u'\0');
      continue;
    }
    if (U_FAILURE(status)) fail(ErrorCode::kInternal, "ICU {} failed: {}", what, u_errorName(status));
    dst.resize(static_cast<size_t>(n));
    return from_utf16(dst);
  }
  fail(ErrorCode::kInternal, "ICU {} kept asking for a bigger buffer", what);
}

enum class Form { kNfc, kNfd, kNfkc, kNfkd };

std::u32string normalize(std::u32string_view text, Form form) {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* n = form == Form::kNfc    ? unorm2_getNFCInstance(&status)
                          : form == Form::kNfd  ? unorm2_getNFDInstance(&status)
                          : form == Form::kNfkc ? unorm2_getNFKCInstance(&status)
                                                : unorm2_getNFKDInstance(&status);
  if (U_FAILURE(status)) fail(ErrorCode::kInternal, "ICU normalizer data unavailable: {}", u_errorName(status));
  return transform_utf16(text, "normalization", [n](UChar* dst, int32_t cap, const UChar* src, int32_t len,
                                                    UErrorCode* st) { return unorm2_normalize(n, src, len, dst, cap, st); });
}

int8_t category(char32_t cp) { return u_charType(static_cast<UChar32>(cp)); }

}  // namespace

std::u32string to_code_points(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    const SequenceScan s = scan_sequence(utf8, i);
    if (s.needed == 0 || s.valid_prefix != s.needed) {
      fail(ErrorCode::kInvalidArgument,
           "text is not valid UTF-8: ill-formed byte 0x{:02X} at offset {}; pass UTF-8 text",
           static_cast<unsigned char>(utf8[i + s.valid_prefix < utf8.size() ? i + s.valid_prefix : i]), i);
    }
    out.push_back(s.cp);
    i += s.needed;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string to_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) append_utf8(out, cp);
  return out;
}

std::string decode_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const SequenceScan s = scan_sequence(bytes, i);
    if (s.needed != 0 && s.valid_prefix == s.needed) {
      out.append(bytes.substr(i, s.needed));
      i += s.needed;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD for the maximal subpart
      i += s.valid_prefix == 0 ? 1 : s.valid_prefix;
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const SequenceScan s = scan_sequence(bytes, i);
    if (s.needed == 0 || s.valid_prefix != s.needed) return false;
    i += s.needed;
  }
  return true;
}

bool is_letter(char32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_N_MASK) != 0; }
bool is_white_space(char32_t cp) { return u_isUWhiteSpace(static_cast<UChar32>(cp)); }
// Python's isspace() is White_Space plus the four ASCII information separators
// (bidi class B/S), which str.split() also splits on.
bool is_python_space(char32_t cp) { return is_white_space(cp) || (cp >= 0x1C && cp <= 0x1F); }
bool is_punctuation(char32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_P_MASK) != 0; }
bool is_control_category(char32_t cp) {
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_C_MASK) != 0;
}
bool is_nonspacing_mark(char32_t cp) { return category(cp) == U_NON_SPACING_MARK; }
bool is_space_separator(char32_t cp) { return category(cp) == U_SPACE_SEPARATOR; }
bool is_mark(char32_t cp) { return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_M_MASK) != 0; }
bool is_word_char(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL) ||
         (U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

std::u32string to_lower(std::u32string_view text) {
  return transform_utf16(text, "lower-casing",
                         [](UChar* dst, int32_t cap, const UChar* src, int32_t len, UErrorCode* st) {
                           return u_strToLower(dst, cap, src, len, "", st);
                         });
}

std::u32string to_lower_each(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp < 0x80) {
      out.push_back(cp >= U'A' && cp <= U'Z' ? cp + (U'a' - U'A') : cp);
    } else {
      out += to_lower(std::u32string_view(&cp, 1));  // alone, so no final-sigma context applies
    }
  }
  return out;
}

std::u32string nfd(std::u32string_view text) { return normalize(text, Form::kNfd); }
std::u32string nfc(std::u32string_view text) { return normalize(text, Form::kNfc); }
std::u32string nfkd(std::u32string_view text) { return normalize(text, Form::kNfkd); }
std::u32string nfkc(std::u32string_view text) { return normalize(text, Form::kNfkc); }

}  // namespace vkinfer::unicode
