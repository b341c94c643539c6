// jinja2 3.1's built-in filters (jinja2/filters.py) in an environment
// without autoescape: arguments by position or keyword as there, Markup kept
// where the Python code keeps it (trim, upper, string) and dropped where it
// calls str() (replace, join). Filters jinja2 has but this subset lacks are
// refused by name.
#include <algorithm>
#include <cerrno>
#include <optional>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/text/jinja_builtins.h"
#include "engine/text/jinja_strings.h"

namespace vkinfer::jinja {
namespace {

const Value* arg(Args& args, size_t index, const char* keyword) {
  if (index < args.positional.size()) return &args.positional[index];
  for (const auto& [k, v] : args.keywords)
    if (k == keyword) return &v;
  return nullptr;
}

bool flag(Args& args, size_t index, const char* keyword) {
  const Value* v = arg(args, index, keyword);
  return v && truthy(*v);
}

const char* const kSupportedFilters[] = {
    "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float", "indent",
    "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr",
    "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum", "title", "tojson",
    "trim", "unique", "upper"};
const char* const kUnsupportedFilters[] = {"batch", "center", "filesizeformat", "forceescape", "format", "groupby",
                                           "pprint", "random", "slice", "striptags", "truncate", "urlencode",
                                           "urlize", "wordcount", "wordwrap", "xmlattr"};

int64_t length_of(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return 0;
    case Kind::kString: return pystr::length(v.str());
    case Kind::kList: return static_cast<int64_t>(v.list().size());
    case Kind::kDict: return static_cast<int64_t>(v.entries->entries.size());
    default: fail(ErrorCode::kInvalidArgument, "object of type '{}' has no len()", type_name(v));
  }
}

// Python's int(str) / float(str) for the int and float filters.
std::optional<int64_t> parse_int(const std::string& text, int base) {
  const std::string t = pystr::strip(text, nullptr, true, true);
  if (t.empty()) return std::nullopt;
  std::string digits;
  for (char c : t)
    if (c != '_') digits += c;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(digits.c_str(), &end, base);
  if (errno || end != digits.c_str() + digits.size()) return std::nullopt;
  return v;
}
std::optional<double> parse_float(const std::string& text) {
  const std::string t = pystr::strip(text, nullptr, true, true);
  if (t.empty() || t.find_first_of("xXpP") != std::string::npos) return std::nullopt;  // strtod's hex floats
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return std::nullopt;
  return v;
}

// An item's attribute for map/selectattr/sort(attribute=...): dotted
// paths, and integer parts index lists (jinja2's make_attrgetter).
Value attribute_of(const Value& item, const std::string& path) {
  Value v = item;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = get_item(v, numeric ? Value::from_int(std::stoll(part)) : Value::from_string(part));
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

// The sort key jinja2 uses when case_sensitive is false: lower-cased strings.
Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value::from_string(pystr::lower(v.str())) : v;
}

List sorted(List items, bool reverse, bool case_sensitive, const Value* attribute) {
  auto key = [&](const Value& v) {
    return sort_key(attribute && attribute->is_string() ? attribute_of(v, attribute->str()) : v, case_sensitive);
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return reverse ? less(key(b), key(a)) : less(key(a), key(b));
  });
  return items;
}

// select/reject/selectattr/rejectattr: `test` names a test (args follow), or
// is absent and truthiness decides.
Value select(const Value& seq, Args& args, bool by_attribute, bool keep, Budget&) {
  const size_t first = by_attribute ? 1 : 0;
  std::string attribute;
  if (by_attribute) {
    const Value* a = arg(args, 0, "attribute");
    if (!a || !a->is_string()) fail(ErrorCode::kInvalidArgument, "selectattr/rejectattr expects an attribute name");
    attribute = a->str();
  }
  std::string test;
  Args test_args;
  if (args.positional.size() > first) {
    if (!args.positional[first].is_string()) fail(ErrorCode::kInvalidArgument, "a test name must be a string");
    test = args.positional[first].str();
    if (test_support(test) == Support::kUnknown) fail(ErrorCode::kBadFile, "no test named '{}'", test);
    test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(first) + 1, args.positional.end());
  }
  List out;
  for (const Value& item : iterate(seq)) {
    const Value subject = by_attribute ? attribute_of(item, attribute) : item;
    Args a = test_args;
    const bool passed = test.empty() ? truthy(subject) : apply_test(test, subject, a);
    if (passed == keep) out.push_back(item);
  }
  return Value::from_list(std::move(out));
}

std::string indent(const std::string& s, const std::string& pad, bool first, bool blank) {
  // jinja2 appends "\n" and splits with str.splitlines().
  std::vector<std::string> lines;
  const std::string text = s + "\n";
  size_t start = 0;
  const std::vector<size_t> offsets = code_point_offsets(text);
  for (size_t k = 0; k + 1 < offsets.size(); ++k) {
    const size_t at = offsets[k];
    const std::string cp = text.substr(at, offsets[k + 1] - at);
    static const char* const kBreaks[] = {"\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\xc2\x85", "\xe2\x80\xa8", "\xe2\x80\xa9"};
    if (std::find(std::begin(kBreaks), std::end(kBreaks), cp) == std::end(kBreaks)) continue;
    lines.push_back(text.substr(start, at - start));
    start = offsets[k + 1];
    if (cp == "\r" && start < text.size() && text[start] == '\n') {
      start += 1;
      ++k;
    }
  }
  std::string out;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i) out.append("\n").append(pad);
      out += lines[i];
    }
  } else {
    out = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) {
      out += '\n';
      if (!lines[i].empty()) out.append(pad).append(lines[i]);
    }
  }
  if (first) out.insert(0, pad);
  return out;
}

double python_round(double x, int64_t digits) {
  // Python rounds the exact binary value half to even, as printf does.
  char buf[512];
  std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::clamp<int64_t>(digits, 0, 300)), x);
  return std::strtod(buf, nullptr);
}

}  // namespace

Support filter_support(const std::string& name) {
  for (const char* f : kSupportedFilters)
    if (name == f) return Support::kSupported;
  for (const char* f : kUnsupportedFilters)
    if (name == f) return Support::kUnsupported;
  return Support::kUnknown;
}

Value apply_filter(const std::string& name, const Value& v, Args& args, Budget& budget) {
  if (name == "default" || name == "d") {
    const Value* fallback = arg(args, 0, "default_value");
    const bool use = v.is_undefined() || (flag(args, 1, "boolean") && !truthy(v));
    return use ? (fallback ? *fallback : Value::from_string("")) : v;
  }
  if (name == "length" || name == "count") return Value::from_int(length_of(v));
  if (name == "string") return v.is_string() ? v : Value::from_string(to_str(v));
  if (name == "safe") return v.is_string() ? Value::from_string(v.str(), true) : Value::from_string(to_str(v), true);
  if (name == "escape" || name == "e") return v.markup ? v : Value::from_string(html_escape(to_str(v)), true);
  if (name == "trim") {
    const Value* chars = arg(args, 0, "chars");
    const std::string set = chars && chars->is_string() ? chars->str() : std::string();
    return Value::from_string(pystr::strip(to_str(v), chars && chars->is_string() ? &set : nullptr, true, true), v.markup);
  }
  if (name == "upper") return Value::from_string(pystr::upper(to_str(v)), v.markup);
  if (name == "lower") return Value::from_string(pystr::lower(to_str(v)), v.markup);
  if (name == "capitalize") return Value::from_string(pystr::capitalize(to_str(v)), v.markup);
  if (name == "title") return Value::from_string(pystr::jinja_title(to_str(v)), v.markup);
  if (name == "tojson") {
    const Value* indent_arg = arg(args, 0, "indent");
    int indent_width = -1;
    if (indent_arg && indent_arg->kind != Kind::kNone) {
      if (!indent_arg->is_integral()) fail(ErrorCode::kUnsupported, "tojson: a non-integer indent is outside the supported template subset");
      indent_width = static_cast<int>(std::clamp<int64_t>(indent_arg->as_int(), 0, 64));
    }
    std::string json = to_json(v, indent_width);
    budget.check_size(json.size(), "a string");
    return Value::from_string(std::move(json), true);
  }
  if (name == "replace") {
    const Value* old = arg(args, 0, "old");
    const Value* with = arg(args, 1, "new");
    const Value* count = arg(args, 2, "count");
    if (!old || !with) fail(ErrorCode::kInvalidArgument, "the replace filter expects old and new strings");
    std::string out = pystr::replace(to_str(v), to_str(*old), to_str(*with),
                                     count && count->is_integral() ? count->as_int() : -1);
    budget.check_size(out.size(), "a string");
    return Value::from_string(std::move(out));
  }
  if (name == "join") {
    const Value* separator = arg(args, 0, "d");
    const Value* attribute = arg(args, 1, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : iterate(v)) {
      if (!first) out += separator ? to_str(*separator) : "";
      out += to_str(attribute && attribute->is_string() ? attribute_of(item, attribute->str()) : item);
      first = false;
      budget.check_size(out.size(), "a string");
    }
    return Value::from_string(std::move(out));
  }
  if (name == "first" || name == "last") {
    const List items = iterate(v);
    if (items.empty()) return Value::undefined(fmt::format("No {} item, sequence was empty.", name));
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::from_list(iterate(v));
  if (name == "reverse") {
    if (v.is_string()) {
      List chars = iterate(v);
      std::string out;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += it->str();
      return Value::from_string(std::move(out), v.markup);
    }
    List items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::from_list(std::move(items));
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::from_list({});
    if (v.kind != Kind::kDict) fail(ErrorCode::kInvalidArgument, "can only get item pairs from a mapping");
    List out;
    for (const auto& [k, item] : v.entries->entries) out.push_back(Value::from_list({Value::from_string(k), item}, ListStyle::kTuple));
    return Value::from_list(std::move(out));
  }
  if (name == "dictsort") {
    if (v.kind != Kind::kDict) fail(ErrorCode::kInvalidArgument, "dictsort expects a mapping, got {}", type_name(v));
    const bool case_sensitive = flag(args, 0, "case_sensitive");
    const Value* by = arg(args, 1, "by");
    const bool by_value = by && by->is_string() && by->str() == "value";
    const bool reverse = flag(args, 2, "reverse");
    List pairs;
    for (const auto& [k, item] : v.entries->entries) pairs.push_back(Value::from_list({Value::from_string(k), item}, ListStyle::kTuple));
    const Value index = Value::from_string(by_value ? "1" : "0");
    return Value::from_list(sorted(std::move(pairs), reverse, case_sensitive, &index));
  }
  if (name == "sort") {
    return Value::from_list(sorted(iterate(v), flag(args, 0, "reverse"), flag(args, 1, "case_sensitive"),
                                   arg(args, 2, "attribute")));
  }
  if (name == "unique") {
    const bool case_sensitive = flag(args, 0, "case_sensitive");
    const Value* attribute = arg(args, 1, "attribute");
    List out, seen;
    for (const Value& item : iterate(v)) {
      const Value key = sort_key(attribute && attribute->is_string() ? attribute_of(item, attribute->str()) : item, case_sensitive);
      if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equal(s, key); })) continue;
      seen.push_back(key);
      out.push_back(item);
    }
    return Value::from_list(std::move(out));
  }
  if (name == "min" || name == "max") {
    const bool case_sensitive = flag(args, 0, "case_sensitive");
    const Value* attribute = arg(args, 1, "attribute");
    const List items = sorted(iterate(v), false, case_sensitive, attribute);
    if (items.empty()) return Value::undefined(fmt::format("No aggregated item, sequence was empty."));
    return name == "min" ? items.front() : items.back();
  }
  if (name == "sum") {
    const Value* attribute = arg(args, 0, "attribute");
    const Value* start = arg(args, 1, "start");
    Value total = start ? *start : Value::from_int(0);
    for (const Value& item : iterate(v))
      total = binary_op("+", total, attribute && attribute->is_string() ? attribute_of(item, attribute->str()) : item, budget);
    return total;
  }
  if (name == "map") {
    List out;
    const Value* attribute = nullptr;
    for (const auto& [k, value] : args.keywords)
      if (k == "attribute") attribute = &value;
    if (attribute) {
      const Value* fallback = nullptr;
      for (const auto& [k, value] : args.keywords)
        if (k == "default") fallback = &value;
      for (const Value& item : iterate(v)) {
        Value got = attribute_of(item, to_str(*attribute));
        out.push_back(got.is_undefined() && fallback ? *fallback : got);
      }
      return Value::from_list(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].is_string())
      fail(ErrorCode::kInvalidArgument, "map expects a filter name or attribute=");
    const std::string filter = args.positional[0].str();
    if (filter_support(filter) != Support::kSupported)
      fail(ErrorCode::kUnsupported, "map: the filter '{}' is unknown or outside the supported template subset", filter);
    Args rest;
    rest.positional.assign(args.positional.begin() + 1, args.positional.end());
    rest.keywords = args.keywords;
    for (const Value& item : iterate(v)) {
      Args a = rest;
      out.push_back(apply_filter(filter, item, a, budget));
    }
    return Value::from_list(std::move(out));
  }
  if (name == "select" || name == "reject") return select(v, args, false, name == "select", budget);
  if (name == "selectattr" || name == "rejectattr") return select(v, args, true, name == "selectattr", budget);
  if (name == "attr") {
    const Value* attribute = arg(args, 0, "name");
    if (!attribute || !attribute->is_string()) fail(ErrorCode::kInvalidArgument, "attr expects an attribute name");
    return get_attr(v, attribute->str());
  }
  if (name == "int") {
    const Value* fallback = arg(args, 0, "default");
    const int base = static_cast<int>(arg(args, 1, "base") && arg(args, 1, "base")->is_integral() ? arg(args, 1, "base")->as_int() : 10);
    if (v.is_integral()) return Value::from_int(v.as_int());
    if (v.kind == Kind::kFloat && std::isfinite(v.number) && std::fabs(v.number) < 9.2e18)
      return Value::from_int(static_cast<int64_t>(v.number));
    if (v.is_string()) {
      if (auto i = parse_int(v.str(), base)) return Value::from_int(*i);
      if (auto d = parse_float(v.str()); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18)
        return Value::from_int(static_cast<int64_t>(*d));
    }
    return fallback ? *fallback : Value::from_int(0);
  }
  if (name == "float") {
    const Value* fallback = arg(args, 0, "default");
    if (v.is_numeric()) return Value::from_float(v.as_double());
    if (v.is_string())
      if (auto d = parse_float(v.str())) return Value::from_float(*d);
    return fallback ? *fallback : Value::from_float(0.0);
  }
  if (name == "abs") {
    if (v.kind == Kind::kFloat) return Value::from_float(std::fabs(v.number));
    if (v.is_integral()) {
      if (v.as_int() == INT64_MIN) fail(ErrorCode::kInvalidArgument, "integer overflow in abs");
      return Value::from_int(std::llabs(v.as_int()));
    }
    fail(ErrorCode::kInvalidArgument, "bad operand type for abs(): '{}'", type_name(v));
  }
  if (name == "round") {
    const int64_t precision = arg(args, 0, "precision") && arg(args, 0, "precision")->is_integral() ? arg(args, 0, "precision")->as_int() : 0;
    const Value* method = arg(args, 1, "method");
    const std::string how = method && method->is_string() ? method->str() : "common";
    if (!v.is_numeric()) fail(ErrorCode::kInvalidArgument, "round expects a number, got {}", type_name(v));
    if (how == "common") {
      if (v.is_integral()) return Value::from_int(v.as_int());
      return Value::from_float(python_round(v.number, precision));
    }
    if (how != "ceil" && how != "floor") fail(ErrorCode::kInvalidArgument, "method must be common, ceil or floor");
    const double scale = std::pow(10.0, static_cast<double>(precision));
    const double x = v.as_double() * scale;
    return Value::from_float((how == "ceil" ? std::ceil(x) : std::floor(x)) / scale);
  }
  if (name == "indent") {
    const Value* width = arg(args, 0, "width");
    const std::string pad = width && width->is_string() ? width->str()
                                                        : std::string(static_cast<size_t>(std::clamp<int64_t>(
                                                                          width && width->is_integral() ? width->as_int() : 4, 0, 1024)),
                                                                      ' ');
    std::string out = indent(to_str(v), pad, flag(args, 1, "first"), flag(args, 2, "blank"));
    budget.check_size(out.size(), "a string");
    return Value::from_string(std::move(out), v.markup);
  }
  if (filter_support(name) == Support::kUnsupported)
    fail(ErrorCode::kUnsupported, "the '{}' filter is outside the supported template subset", name);
  fail(ErrorCode::kBadFile, "no filter named '{}'", name);
}

}  // namespace vkinfer::jinja
