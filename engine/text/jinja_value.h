// The values a chat template computes with, as Python and jinja2 see them:
// undefined, None, bool, int, float, str (with markupsafe's Markup flag,
// because jinja2's tojson returns Markup and `str + Markup` escapes the str),
// list, dict (insertion-ordered, string keys), namespace and callables.
// Lists and strings are immutable and shared; a namespace is shared so that
// `{% set ns.x = ... %}` is seen through every copy, as in Python.
// Conversions follow Python: str() and repr() of each kind, truthiness,
// == and ordering, and json.dumps for the tojson filter.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vkinfer::jinja {

enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kFunction };

struct Value;
struct Dict;
using List = std::vector<Value>;

// Arguments of a call: positional, then keyword (`f(1, indent=4)`).
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

struct Function {
  std::string name;
  std::function<Value(Args&)> call;
};

// How a list prints: Python tuples and dict views are read-only lists here
// that only repr() tells apart.
enum class ListStyle : uint8_t { kList, kTuple, kDictItems, kDictKeys, kDictValues };

struct Value {
  Kind kind = Kind::kUndefined;
  bool markup = false;  // a markupsafe.Markup string
  ListStyle style = ListStyle::kList;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::shared_ptr<const std::string> text;
  std::shared_ptr<const List> items;
  std::shared_ptr<Dict> entries;  // dict or namespace
  std::shared_ptr<const Function> function;
  std::string hint;  // undefined: the name that was looked up, for errors

  static Value undefined(std::string hint = {});
  static Value none();
  static Value from_bool(bool b);
  static Value from_int(int64_t i);
  static Value from_float(double d);
  static Value from_string(std::string s, bool markup = false);
  static Value from_list(List l, ListStyle style = ListStyle::kList);
  static Value from_dict(Dict d);
  static Value make_namespace(Dict d);
  static Value make_function(std::string name, std::function<Value(Args&)> call);

  bool is_undefined() const { return kind == Kind::kUndefined; }
  bool is_string() const { return kind == Kind::kString; }
  bool is_numeric() const { return kind == Kind::kBool || kind == Kind::kInt || kind == Kind::kFloat; }
  bool is_integral() const { return kind == Kind::kBool || kind == Kind::kInt; }
  const std::string& str() const;  // the text of a string (empty otherwise)
  const List& list() const;        // the items of a list (empty otherwise)
  int64_t as_int() const;          // bool or int
  double as_double() const;        // bool, int or float
};

// An insertion-ordered dict with string keys (Python dicts keep order).
struct Dict {
  std::vector<std::pair<std::string, Value>> entries;
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

// Python's bool(value); Undefined is falsy.
bool truthy(const Value& v);
// Python's ==, with bool == int and int == float as Python has them.
bool equal(const Value& a, const Value& b);
// Python's a < b for numbers, strings and lists; throws for other kinds.
bool less(const Value& a, const Value& b);
// str(value) as a template prints it (Undefined prints nothing).
std::string to_str(const Value& v);
// repr(value): how Python prints values inside a list or dict.
std::string to_repr(const Value& v);
// Python's float repr: shortest round-trip digits, "1.0", "1e+16", "nan".
std::string float_repr(double d);
// Python's type name for messages ('str', 'int', 'list', ...).
const char* type_name(const Value& v);

// markupsafe.escape: & < > " ' as HTML entities.
std::string html_escape(std::string_view s);

// The value of a JSON document (a message list, extra template variables).
// ordered_json: Python dicts keep their keys in insertion order, and
// templates iterate them (tool.items()).
Value from_json(const nlohmann::ordered_json& j);
// jinja2's tojson: json.dumps(value, sort_keys=True, indent=indent) with
// ensure_ascii, then <, >, & and ' replaced by \u escapes. indent < 0: none.
std::string to_json(const Value& v, int indent);

// UTF-8 strings as Python indexes them, by code point: the byte offset of
// each code point, plus the end.
std::vector<size_t> code_point_offsets(std::string_view s);

}  // namespace vkinfer::jinja
