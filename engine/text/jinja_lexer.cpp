// jinja2 3.1's lexer (jinja2/lexer.py), for one environment: the default
// delimiters, trim_blocks=True, lstrip_blocks=True, no line statements.
#include "engine/text/jinja_lexer.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "engine/core/error.h"

namespace vkinfer::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// "\r\n", "\r" and "\n" all become "\n"; one trailing newline is dropped
// (keep_trailing_newline=False).
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize_newlines(source)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t tag_at = find_tag_start();
      if (tag_at == std::string::npos) {
        emit_data(src_.substr(pos_), line_);
        break;
      }
      const char kind = src_[tag_at + 1];
      size_t after = tag_at + 2;
      char sign = 0;
      if (after < src_.size() && (src_[after] == '-' || src_[after] == '+')) sign = src_[after++];
      std::string text = src_.substr(pos_, tag_at - pos_);
      const int text_line = line_;
      line_ += static_cast<int>(std::count(text.begin(), text.end(), '\n'));
      if (sign == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (sign != '+' && kind != '{') {
        // lstrip_blocks: indentation alone on the tag's line goes.
        const size_t line_start = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        if (line_start > 0 || line_starting_) {
          if (std::all_of(text.begin() + static_cast<std::ptrdiff_t>(line_start), text.end(), is_space))
            text.resize(line_start);
        }
      }
      emit_data(std::move(text), text_line);
      pos_ = after;
      if (kind == '#') {
        comment();
      } else if (kind == '%' && raw_block()) {
      } else {
        tag(kind == '%');
      }
    }
    tokens_.push_back(Token{Tok::kEof, "", line_});
    return std::move(tokens_);
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    fail(ErrorCode::kBadFile, "line {}: {}", line_, what);
  }

  size_t find_tag_start() const {
    for (size_t i = src_.find('{', pos_); i != std::string::npos && i + 1 < src_.size(); i = src_.find('{', i + 1)) {
      const char next = src_[i + 1];
      if (next == '{' || next == '%' || next == '#') return i;
    }
    return std::string::npos;
  }

  void emit_data(std::string text, int line) {
    if (!text.empty()) tokens_.push_back(Token{Tok::kData, std::move(text), line});
  }

  // Advances past what a closing delimiter consumes after itself: all
  // whitespace after a `-` one, the one newline trim_blocks eats after a
  // block or comment tag, nothing after a `+` one or `}}`.
  void finish_tag(char sign, bool trim_newline) {
    size_t end = pos_;
    if (sign == '-') {
      while (end < src_.size() && is_space(src_[end])) ++end;
    } else if (sign != '+' && trim_newline && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    line_ += static_cast<int>(std::count(src_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                         src_.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
    // A closing delimiter that ate a newline leaves the next text at the
    // start of a line (jinja2's line_starting).
    line_starting_ = end > 0 && src_[end - 1] == '\n' && end > pos_;
    pos_ = end;
  }

  void comment() {
    for (size_t i = pos_; i + 1 < src_.size(); ++i) {
      char sign = 0;
      size_t close = i;
      if ((src_[i] == '-' || src_[i] == '+') && i + 2 < src_.size() && src_[i + 1] == '#' && src_[i + 2] == '}') {
        sign = src_[i];
        close = i + 1;
      } else if (!(src_[i] == '#' && src_[i + 1] == '}')) {
        continue;
      }
      line_ += static_cast<int>(std::count(src_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                           src_.begin() + static_cast<std::ptrdiff_t>(i), '\n'));
      pos_ = close + 2;
      finish_tag(sign, true);
      return;
    }
    error("missing end of comment tag");
  }

  // `{% raw %}...{% endraw %}`: the body is text, untouched.
  bool raw_block() {
    size_t i = pos_;
    while (i < src_.size() && is_space(src_[i])) ++i;
    if (src_.compare(i, 3, "raw") != 0 || (i + 3 < src_.size() && is_name_char(src_[i + 3]))) return false;
    i += 3;
    while (i < src_.size() && is_space(src_[i])) ++i;
    char sign = 0;
    if (i < src_.size() && src_[i] == '-') sign = '-', ++i;
    if (src_.compare(i, 2, "%}") != 0) return false;
    pos_ = i + 2;
    finish_tag(sign, false);  // jinja2's raw_begin eats no newline
    for (size_t j = src_.find("{%", pos_); j != std::string::npos; j = src_.find("{%", j + 1)) {
      size_t k = j + 2;
      char open_sign = 0;
      if (k < src_.size() && (src_[k] == '-' || src_[k] == '+')) open_sign = src_[k++];
      while (k < src_.size() && is_space(src_[k])) ++k;
      if (src_.compare(k, 6, "endraw") != 0) continue;
      k += 6;
      while (k < src_.size() && is_space(src_[k])) ++k;
      char close_sign = 0;
      if (k < src_.size() && (src_[k] == '-' || src_[k] == '+')) close_sign = src_[k++];
      if (src_.compare(k, 2, "%}") != 0) continue;
      std::string body = src_.substr(pos_, j - pos_);
      const int body_line = line_;
      line_ += static_cast<int>(std::count(body.begin(), body.end(), '\n'));
      if (open_sign == '-') {
        while (!body.empty() && is_space(body.back())) body.pop_back();
      } else if (open_sign != '+') {
        const size_t line_start = body.rfind('\n') == std::string::npos ? 0 : body.rfind('\n') + 1;
        if ((line_start > 0 || line_starting_) &&
            std::all_of(body.begin() + static_cast<std::ptrdiff_t>(line_start), body.end(), is_space))
          body.resize(line_start);
      }
      emit_data(std::move(body), body_line);
      line_ += static_cast<int>(std::count(src_.begin() + static_cast<std::ptrdiff_t>(j),
                                           src_.begin() + static_cast<std::ptrdiff_t>(k), '\n'));
      pos_ = k + 2;
      finish_tag(close_sign, true);
      return true;
    }
    error("missing end of raw directive");
  }

  void tag(bool block) {
    tokens_.push_back(Token{block ? Tok::kBlockBegin : Tok::kVarBegin, "", line_});
    std::vector<char> brackets;
    while (true) {
      if (pos_ >= src_.size())
        error(block ? "unexpected end of template: a '{%' tag is not closed" : "unexpected end of template: a '{{' tag is not closed");
      if (brackets.empty() && close_tag(block)) return;
      const char c = src_[pos_];
      if (is_space(c)) {
        if (c == '\n') ++line_;
        ++pos_;
      } else if (is_digit(c)) {
        number();
      } else if (is_name_start(c)) {
        size_t end = pos_;
        while (end < src_.size() && is_name_char(src_[end])) ++end;
        tokens_.push_back(Token{Tok::kName, src_.substr(pos_, end - pos_), line_});
        pos_ = end;
      } else if (c == '\'' || c == '"') {
        string_literal(c);
      } else {
        op(brackets);
      }
    }
  }

  bool close_tag(bool block) {
    const std::string_view rest(src_.data() + pos_, src_.size() - pos_);
    char sign = 0;
    size_t length = 0;
    if (block) {
      if (rest.substr(0, 3) == "+%}") sign = '+', length = 3;
      else if (rest.substr(0, 3) == "-%}") sign = '-', length = 3;
      else if (rest.substr(0, 2) == "%}") length = 2;
    } else {
      if (rest.substr(0, 3) == "-}}") sign = '-', length = 3;
      else if (rest.substr(0, 2) == "}}") length = 2;
    }
    if (length == 0) return false;
    tokens_.push_back(Token{block ? Tok::kBlockEnd : Tok::kVarEnd, "", line_});
    pos_ += length;
    finish_tag(sign, block);
    return true;
  }

  void number() {
    auto digits = [&](size_t at) {
      size_t end = at;
      while (end < src_.size() && (is_digit(src_[end]) || (src_[end] == '_' && end + 1 < src_.size() && is_digit(src_[end + 1]) && end > at)))
        ++end;
      return end;
    };
    size_t end = digits(pos_);
    bool is_float = false;
    if (end + 1 < src_.size() && src_[end] == '.' && is_digit(src_[end + 1])) {
      end = digits(end + 1);
      is_float = true;
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      size_t exp = end + 1;
      if (exp < src_.size() && (src_[exp] == '+' || src_[exp] == '-')) ++exp;
      if (exp < src_.size() && is_digit(src_[exp])) {
        end = digits(exp);
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = pos_; i < end; ++i)
      if (src_[i] != '_') text += src_[i];
    Token token{is_float ? Tok::kFloat : Tok::kInt, text, line_};
    if (is_float) {
      token.float_value = std::strtod(text.c_str(), nullptr);
    } else {
      errno = 0;
      const unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
      if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX))
        error("integer literal " + text + " is too large (outside the supported subset)");
      token.int_value = static_cast<int64_t>(v);
    }
    tokens_.push_back(std::move(token));
    pos_ = end;
  }

  // Python's unicode-escape decoding, as jinja2 applies it to literals.
  void string_literal(char quote) {
    const int start_line = line_;
    std::string value;
    size_t i = pos_ + 1;
    while (true) {
      if (i >= src_.size()) error("unterminated string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) error("unterminated string literal");
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case '\n': ++line_; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'n': value += '\n'; break;
        case 'r': value += '\r'; break;
        case 't': value += '\t'; break;
        case 'v': value += '\v'; break;
        case 'x':
        case 'u':
        case 'U': {
          const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (int k = 0; k < n; ++k) {
            const int h = i < src_.size() ? hex_value(src_[i]) : -1;
            if (h < 0) error(fmt::format("truncated \\{} escape in a string literal", e));
            cp = cp * 16 + static_cast<uint32_t>(h);
            ++i;
          }
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            error("string literal escape names no Unicode character");
          append_utf8(value, cp);
          break;
        }
        case 'N': error("\\N{...} escapes are outside the supported subset");
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k)
              cp = cp * 8 + static_cast<uint32_t>(src_[i++] - '0');
            append_utf8(value, cp);
          } else {  // unknown escapes stay as written
            value += '\\';
            value += e;
            if (e == '\n') ++line_;
          }
      }
    }
    tokens_.push_back(Token{Tok::kString, std::move(value), start_line});
    pos_ = i + 1;
  }

  void op(std::vector<char>& brackets) {
    static const char* kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* two : kTwo) {
      if (src_.compare(pos_, 2, two) == 0) {
        tokens_.push_back(Token{Tok::kOp, two, line_});
        pos_ += 2;
        return;
      }
    }
    const char c = src_[pos_];
    static const std::string kOne = "+-/*%~[](){}<>=.:|,;";
    if (kOne.find(c) == std::string::npos) {
      const auto byte = static_cast<unsigned char>(c);
      error(byte >= 0x20 && byte < 0x7f ? fmt::format("unexpected char '{}'", c)
                                        : fmt::format("unexpected byte 0x{:02x}", byte));
    }
    if (c == '(' || c == '[' || c == '{') brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty()) error(fmt::format("unexpected '{}'", c));
      if (brackets.back() != c) error(fmt::format("unexpected '{}', expected '{}'", c, brackets.back()));
      brackets.pop_back();
    }
    tokens_.push_back(Token{Tok::kOp, std::string(1, c), line_});
    ++pos_;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> lex(std::string_view source) { return Lexer(source).run(); }

std::string describe(const Token& token) {
  switch (token.type) {
    case Tok::kData: return "template data";
    case Tok::kVarBegin: return "'{{'";
    case Tok::kVarEnd: return "end of print statement";
    case Tok::kBlockBegin: return "'{%'";
    case Tok::kBlockEnd: return "end of statement block";
    case Tok::kName: return "'" + token.text + "'";
    case Tok::kString: return "string literal";
    case Tok::kInt: return "integer literal";
    case Tok::kFloat: return "float literal";
    case Tok::kOp: return "'" + token.text + "'";
    case Tok::kEof: return "end of template";
  }
  return "token";
}

}  // namespace vkinfer::jinja
