// Python semantics of template values: truthiness, equality, ordering,
// str()/repr(), and json.dumps as jinja2's tojson filter calls it.
#include "engine/text/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/text/unicode.h"

namespace vkinfer::jinja {

Value Value::undefined(std::string hint) {
  Value v;
  v.hint = std::move(hint);
  return v;
}
Value Value::none() {
  Value v;
  v.kind = Kind::kNone;
  return v;
}
Value Value::from_bool(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}
Value Value::from_int(int64_t i) {
  Value v;
  v.kind = Kind::kInt;
  v.integer = i;
  return v;
}
Value Value::from_float(double d) {
  Value v;
  v.kind = Kind::kFloat;
  v.number = d;
  return v;
}
Value Value::from_string(std::string s, bool markup) {
  Value v;
  v.kind = Kind::kString;
  v.markup = markup;
  v.text = std::make_shared<const std::string>(std::move(s));
  return v;
}
Value Value::from_list(List l, ListStyle style) {
  Value v;
  v.kind = Kind::kList;
  v.style = style;
  v.items = std::make_shared<const List>(std::move(l));
  return v;
}
Value Value::from_dict(Dict d) {
  Value v;
  v.kind = Kind::kDict;
  v.entries = std::make_shared<Dict>(std::move(d));
  return v;
}
Value Value::make_namespace(Dict d) {
  Value v = from_dict(std::move(d));
  v.kind = Kind::kNamespace;
  return v;
}
Value Value::make_function(std::string name, std::function<Value(Args&)> call) {
  Value v;
  v.kind = Kind::kFunction;
  v.function = std::make_shared<const Function>(Function{std::move(name), std::move(call)});
  return v;
}

const std::string& Value::str() const {
  static const std::string empty;
  return kind == Kind::kString ? *text : empty;
}
const List& Value::list() const {
  static const List empty;
  return kind == Kind::kList ? *items : empty;
}
int64_t Value::as_int() const { return kind == Kind::kBool ? int64_t{boolean} : integer; }
double Value::as_double() const { return kind == Kind::kFloat ? number : static_cast<double>(as_int()); }

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}
void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : entries)
    if (k == key) {
      v = std::move(value);
      return;
    }
  entries.emplace_back(key, std::move(value));
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return v.boolean;
    case Kind::kInt: return v.integer != 0;
    case Kind::kFloat: return v.number != 0;
    case Kind::kString: return !v.text->empty();
    case Kind::kList: return !v.items->empty();
    case Kind::kDict: return !v.entries->entries.empty();
    case Kind::kNamespace:
    case Kind::kFunction: return true;
  }
  return false;
}

bool equal(const Value& a, const Value& b) {
  if (a.is_numeric() && b.is_numeric()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() == b.as_int();
    return a.as_double() == b.as_double();
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return *a.text == *b.text;
    case Kind::kList: {
      const List &x = *a.items, &y = *b.items;
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!equal(x[i], y[i])) return false;
      return true;
    }
    case Kind::kDict: {
      const auto &x = a.entries->entries, &y = b.entries->entries;
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x) {
        const Value* other = b.entries->find(k);
        if (!other || !equal(v, *other)) return false;
      }
      return true;
    }
    case Kind::kNamespace: return a.entries == b.entries;
    case Kind::kFunction: return a.function == b.function;
    default: return false;
  }
}

bool less(const Value& a, const Value& b) {
  if (a.is_numeric() && b.is_numeric()) {
    if (a.is_integral() && b.is_integral()) return a.as_int() < b.as_int();
    return a.as_double() < b.as_double();
  }
  // UTF-8 byte order is code point order, as Python compares str.
  if (a.is_string() && b.is_string()) return *a.text < *b.text;
  if (a.kind == Kind::kList && b.kind == Kind::kList) {
    const List &x = *a.items, &y = *b.items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equal(x[i], y[i])) return less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  if (a.is_undefined() || b.is_undefined())
    fail(ErrorCode::kInvalidArgument, "'{}' is undefined", a.is_undefined() ? a.hint : b.hint);
  fail(ErrorCode::kInvalidArgument, "'<' not supported between instances of '{}' and '{}'", type_name(a),
       type_name(b));
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's layout: positional for
  // exponents in [-4, 16), scientific ("1e+16", "1.5e-05") otherwise.
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, result.ptr);
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exponent = std::stoi(sci.substr(e + 1));
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits += c;
  std::string out;
  if (exponent < -4 || exponent >= 16) {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out.append(".").append(digits, 1, std::string::npos);
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  } else if (exponent < 0) {
    out = "0.";
    out.append(static_cast<size_t>(-exponent - 1), '0').append(digits);
  } else {
    const size_t point = static_cast<size_t>(exponent) + 1;
    out = digits.substr(0, point);
    if (digits.size() <= point) {
      out.append(point - digits.size(), '0').append(".0");
    } else {
      out.append(".").append(digits, point, std::string::npos);
    }
  }
  if (negative) out.insert(out.begin(), '-');
  return out;
}

const char* type_name(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return v.markup ? "Markup" : "str";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kFunction: return "function";
  }
  return "object";
}

namespace {

// Python's repr of a str: single quotes unless the text holds ' and no ".
std::string string_repr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == static_cast<unsigned char>(quote)) out += std::string("\\") + quote;
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  out += quote;
  return out;
}

}  // namespace

std::string to_str(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return "";
    case Kind::kString: return *v.text;
    default: return to_repr(v);
  }
}

std::string to_repr(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return v.boolean ? "True" : "False";
    case Kind::kInt: return std::to_string(v.integer);
    case Kind::kFloat: return float_repr(v.number);
    case Kind::kString: return v.markup ? "Markup(" + string_repr(*v.text) + ")" : string_repr(*v.text);
    case Kind::kList: {
      std::string items;
      for (size_t i = 0; i < v.items->size(); ++i) {
        if (i) items += ", ";
        items += to_repr((*v.items)[i]);
      }
      switch (v.style) {
        case ListStyle::kTuple: return "(" + items + (v.items->size() == 1 ? ",)" : ")");
        case ListStyle::kDictItems: return "dict_items([" + items + "])";
        case ListStyle::kDictKeys: return "dict_keys([" + items + "])";
        case ListStyle::kDictValues: return "dict_values([" + items + "])";
        default: return "[" + items + "]";
      }
    }
    case Kind::kDict:
    case Kind::kNamespace: {
      std::string out = v.kind == Kind::kNamespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, item] : v.entries->entries) {
        if (!first) out += ", ";
        out.append(string_repr(k)).append(": ").append(to_repr(item));
        first = false;
      }
      return out + (v.kind == Kind::kNamespace ? "}>" : "}");
    }
    case Kind::kFunction: return "<function " + v.function->name + ">";
  }
  return "";
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::from_bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::from_int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX))
        fail(ErrorCode::kInvalidArgument, "integer {} is out of range for a template value", u);
      return Value::from_int(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::from_float(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::from_string(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List items;
      for (const auto& item : j) items.push_back(from_json(item));
      return Value::from_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (const auto& [k, item] : j.items()) d.entries.emplace_back(k, from_json(item));
      return Value::from_dict(std::move(d));
    }
    default: fail(ErrorCode::kInvalidArgument, "unsupported JSON value in template input");
  }
}

namespace {

void json_string(std::string& out, const std::string& s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    char32_t cp = unicode::next_code_point(s, i);
    if (i > s.size() || cp > 0x10FFFF) {  // malformed UTF-8 (only a fuzzed template holds it)
      cp = 0xFFFD;
      i = std::min(i, s.size());
    }
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp >= 0x20 && cp < 0x7f) {
      out += static_cast<char>(cp);
    } else if (cp < 0x10000) {
      out += fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
    } else {  // ensure_ascii writes astral code points as a surrogate pair
      const uint32_t v = static_cast<uint32_t>(cp) - 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
    }
  }
  out += '"';
}

void dump(std::string& out, const Value& v, int indent, int depth) {
  if (depth > 512) fail(ErrorCode::kInvalidArgument, "tojson: value nested too deeply");
  const std::string newline = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent) * (depth + 1), ' ') : "";
  const std::string close = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent) * depth, ' ') : "";
  const char* separator = indent >= 0 ? "," : ", ";
  switch (v.kind) {
    case Kind::kNone: out += "null"; return;
    case Kind::kBool: out += v.boolean ? "true" : "false"; return;
    case Kind::kInt: out += std::to_string(v.integer); return;
    case Kind::kFloat:
      if (std::isnan(v.number)) out += "NaN";
      else if (std::isinf(v.number)) out += v.number < 0 ? "-Infinity" : "Infinity";
      else out += float_repr(v.number);
      return;
    case Kind::kString: json_string(out, *v.text); return;
    case Kind::kList: {
      if (v.items->empty()) {
        out += "[]";
        return;
      }
      out += "[";
      for (size_t i = 0; i < v.items->size(); ++i) {
        if (i) out += separator;
        out += newline;
        dump(out, (*v.items)[i], indent, depth + 1);
      }
      out += close + "]";
      return;
    }
    case Kind::kDict: {
      if (v.entries->entries.empty()) {
        out += "{}";
        return;
      }
      // sort_keys=True: jinja2's default json.dumps policy.
      std::vector<const std::pair<std::string, Value>*> sorted;
      for (const auto& entry : v.entries->entries) sorted.push_back(&entry);
      std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += "{";
      for (size_t i = 0; i < sorted.size(); ++i) {
        if (i) out += separator;
        out += newline;
        json_string(out, sorted[i]->first);
        out += ": ";
        dump(out, sorted[i]->second, indent, depth + 1);
      }
      out += close + "}";
      return;
    }
    default:
      fail(ErrorCode::kInvalidArgument, "tojson: Object of type {} is not JSON serializable", type_name(v));
  }
}

}  // namespace

std::string to_json(const Value& v, int indent) {
  std::string raw;
  dump(raw, v, indent, 0);
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      case '\'': out += "\\u0027"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<size_t> code_point_offsets(std::string_view s) {
  std::vector<size_t> offsets;
  offsets.reserve(s.size() + 1);
  size_t i = 0;
  while (i < s.size()) {
    offsets.push_back(i);
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    // A malformed sequence counts one byte at a time, never past the end.
    for (size_t k = 1; k < n; ++k)
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
        n = 1;
        break;
      }
    i += n;
  }
  offsets.push_back(s.size());
  return offsets;
}

}  // namespace vkinfer::jinja
