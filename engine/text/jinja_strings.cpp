// Python str methods over UTF-8, with ICU for case mapping. Text a fuzzed
// template holds may be ill-formed UTF-8; it is decoded lossily (U+FFFD)
// where code points are needed, never read past its end.
#include "engine/text/jinja_strings.h"

#include <unicode/uchar.h>
#include <unicode/ustring.h>

#include <algorithm>

#include "engine/core/error.h"
#include "engine/text/jinja_value.h"
#include "engine/text/unicode.h"

namespace vkinfer::jinja::pystr {
namespace {

std::u32string code_points(const std::string& s) {
  return unicode::to_code_points(unicode::is_valid_utf8(s) ? s : unicode::decode_lossy(s));
}

bool is_ascii(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Full case mapping of the whole text in the root locale (u_strToUpper /
// u_strToLower), as CPython's str.upper()/lower() map (ß -> SS).
std::string map_case(const std::string& s, bool to_upper) {
  if (is_ascii(s)) {
    std::string out = s;
    for (char& c : out) c = to_upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                                     : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  if (!to_upper) return unicode::to_utf8(unicode::to_lower(code_points(s)));
  const std::u32string cps = code_points(s);
  std::u16string src;
  for (char32_t cp : cps) {
    if (cp >= 0x10000) {
      src += static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10));
      src += static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF));
    } else {
      src += static_cast<char16_t>(cp);
    }
  }
  std::u16string dst(src.size() * 3 + 8, u'\0');
  UErrorCode status = U_ZERO_ERROR;
  const int32_t n = u_strToUpper(reinterpret_cast<UChar*>(dst.data()), static_cast<int32_t>(dst.size()),
                                 reinterpret_cast<const UChar*>(src.data()), static_cast<int32_t>(src.size()), "",
                                 &status);
  if (U_FAILURE(status)) fail(ErrorCode::kInternal, "upper-casing failed: {}", u_errorName(status));
  std::string out;
  for (int32_t i = 0; i < n; ++i) {
    char32_t cp = dst[static_cast<size_t>(i)];
    if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < n) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (dst[static_cast<size_t>(i + 1)] - 0xDC00);
      ++i;
    }
    unicode::append_utf8(out, cp);
  }
  return out;
}

// Python's _PyUnicode_IsCased: the Unicode Cased property.
bool is_cased(char32_t cp) { return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_CASED); }

std::string title_char(char32_t cp) {
  std::string out;
  unicode::append_utf8(out, static_cast<char32_t>(u_totitle(static_cast<UChar32>(cp))));
  return out;
}

std::string lower_char(char32_t cp) {
  std::string one;
  unicode::append_utf8(one, cp);
  return lower(one);
}

}  // namespace

std::string strip(const std::string& s, const std::string* chars, bool left, bool right) {
  const std::u32string cps = code_points(s);
  const std::u32string set = chars ? code_points(*chars) : std::u32string();
  auto stripped = [&](char32_t cp) { return chars ? set.find(cp) != std::u32string::npos : unicode::is_python_space(cp); };
  size_t begin = 0, end = cps.size();
  if (left)
    while (begin < end && stripped(cps[begin])) ++begin;
  if (right)
    while (end > begin && stripped(cps[end - 1])) --end;
  if (begin == 0 && end == cps.size() && unicode::is_valid_utf8(s)) return s;
  return unicode::to_utf8(std::u32string_view(cps).substr(begin, end - begin));
}

std::string upper(const std::string& s) { return map_case(s, true); }
std::string lower(const std::string& s) { return map_case(s, false); }

std::string title(const std::string& s) {
  std::string out;
  bool previous_cased = false;
  for (char32_t cp : code_points(s)) {
    out += previous_cased ? lower_char(cp) : title_char(cp);
    previous_cased = is_cased(cp);
  }
  return out;
}

std::string capitalize(const std::string& s) {
  const std::u32string cps = code_points(s);
  if (cps.empty()) return "";
  std::string out = title_char(cps[0]);
  for (size_t i = 1; i < cps.size(); ++i) out += lower_char(cps[i]);
  return out;
}

std::string jinja_title(const std::string& s) {
  // "".join(w[0].upper() + w[1:].lower() for w in re.split(r"([-\s({\[<]+)", s) if w)
  const std::u32string cps = code_points(s);
  auto separator = [](char32_t cp) {
    return cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || unicode::is_white_space(cp) ||
           unicode::is_python_space(cp);
  };
  std::string out;
  size_t i = 0;
  while (i < cps.size()) {
    size_t j = i;
    const bool sep = separator(cps[i]);
    while (j < cps.size() && separator(cps[j]) == sep) ++j;
    const std::u32string_view word = std::u32string_view(cps).substr(i, j - i);
    if (sep) {
      out += unicode::to_utf8(word);
    } else {
      out += upper(unicode::to_utf8(word.substr(0, 1)));
      out += lower(unicode::to_utf8(word.substr(1)));
    }
    i = j;
  }
  return out;
}

std::vector<std::string> split(const std::string& s, const std::string* sep, int64_t maxsplit) {
  std::vector<std::string> parts;
  if (sep) {
    if (sep->empty()) fail(ErrorCode::kInvalidArgument, "str.split: empty separator");
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
      const size_t at = s.find(*sep, start);
      if (at == std::string::npos) break;
      parts.push_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    parts.push_back(s.substr(start));
    return parts;
  }
  const std::u32string cps = code_points(s);
  size_t i = 0;
  while (true) {
    while (i < cps.size() && unicode::is_python_space(cps[i])) ++i;
    if (i >= cps.size()) break;
    if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
      size_t end = cps.size();
      while (end > i && unicode::is_python_space(cps[end - 1])) --end;
      parts.push_back(unicode::to_utf8(std::u32string_view(cps).substr(i, end - i)));
      break;
    }
    size_t j = i;
    while (j < cps.size() && !unicode::is_python_space(cps[j])) ++j;
    parts.push_back(unicode::to_utf8(std::u32string_view(cps).substr(i, j - i)));
    i = j;
  }
  return parts;
}

std::string replace(const std::string& s, const std::string& old, const std::string& with, int64_t count) {
  std::string out;
  int64_t done = 0;
  if (old.empty()) {  // Python inserts `with` between code points and at both ends
    const std::vector<size_t> offsets = code_point_offsets(s);
    for (size_t k = 0; k + 1 < offsets.size(); ++k) {
      if (count < 0 || done < count) out += with, ++done;
      out += s.substr(offsets[k], offsets[k + 1] - offsets[k]);
    }
    if (count < 0 || done < count) out += with;
    return out;
  }
  size_t start = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(old, start);
    if (at == std::string::npos) break;
    out += s.substr(start, at - start) + with;
    start = at + old.size();
    ++done;
  }
  return out + s.substr(start);
}

int64_t find(const std::string& s, const std::string& sub) {
  const size_t at = s.find(sub);
  if (at == std::string::npos) return -1;
  return length(s.substr(0, at));
}

int64_t count(const std::string& s, const std::string& sub) {
  if (sub.empty()) return length(s) + 1;
  int64_t n = 0;
  for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
  return n;
}

int64_t length(const std::string& s) { return static_cast<int64_t>(code_point_offsets(s).size()) - 1; }

bool is_lower(const std::string& s) {
  bool any_cased = false;
  for (char32_t cp : code_points(s)) {
    const int8_t type = u_charType(static_cast<UChar32>(cp));
    if (type == U_UPPERCASE_LETTER || type == U_TITLECASE_LETTER) return false;
    if (type == U_LOWERCASE_LETTER) any_cased = true;
  }
  return any_cased;
}

bool is_upper(const std::string& s) {
  bool any_cased = false;
  for (char32_t cp : code_points(s)) {
    const int8_t type = u_charType(static_cast<UChar32>(cp));
    if (type == U_LOWERCASE_LETTER || type == U_TITLECASE_LETTER) return false;
    if (type == U_UPPERCASE_LETTER) any_cased = true;
  }
  return any_cased;
}

}  // namespace vkinfer::jinja::pystr
