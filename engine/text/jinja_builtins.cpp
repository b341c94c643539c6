// Lookups, methods, operators, tests and globals of the template subset
// (filters are in jinja_filters.cpp). Each follows the Python or jinja2 code
// it stands for; comments name the cases where that code is surprising.
#include "engine/text/jinja_builtins.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "engine/text/jinja_strings.h"

namespace vkinfer::jinja {
namespace {

[[noreturn]] void undefined_error(const Value& v) {
  fail(ErrorCode::kInvalidArgument, "'{}' is undefined", v.hint.empty() ? "value" : v.hint);
}

const Value* arg(Args& args, size_t index, const char* keyword) {
  if (index < args.positional.size()) return &args.positional[index];
  for (const auto& [k, v] : args.keywords)
    if (k == keyword) return &v;
  return nullptr;
}

const std::string& require_string(const Value* v, const char* what) {
  if (!v || !v->is_string())
    fail(ErrorCode::kInvalidArgument, "{} expects a string argument, got {}", what, v ? type_name(*v) : "nothing");
  return v->str();
}

int64_t optional_int(const Value* v, int64_t fallback, const char* what) {
  if (!v || v->kind == Kind::kNone) return fallback;
  if (!v->is_integral()) fail(ErrorCode::kInvalidArgument, "{} expects an integer, got {}", what, type_name(*v));
  return v->as_int();
}

Value bound(const Value& self, const std::string& name, std::function<Value(const Value&, Args&)> body) {
  return Value::make_function(name, [self, body](Args& args) { return body(self, args); });
}

// Python str methods that exist but that this subset does not implement:
// `is defined` holds for them, and calling one names it.
const char* const kOtherStrMethods[] = {"casefold", "center", "encode", "expandtabs", "format", "format_map",
                                        "index", "isalnum", "isalpha", "isascii", "isdecimal", "isdigit",
                                        "isidentifier", "isnumeric", "isprintable", "istitle", "ljust",
                                        "maketrans", "partition", "rfind", "rindex", "rjust", "rpartition",
                                        "rsplit", "splitlines", "swapcase", "translate", "zfill"};

Value unsupported_method(const char* type, const std::string& name) {
  return Value::make_function(name, [type, name](Args&) -> Value {
    fail(ErrorCode::kUnsupported, "the {} method '{}' is outside the supported template subset", type, name);
  });
}

Value str_method(const Value& self, const std::string& name) {
  const bool markup = self.markup;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return bound(self, name, [name, markup](const Value& s, Args& a) {
      const Value* chars = arg(a, 0, "chars");
      const std::string* set = chars && chars->kind != Kind::kNone ? &require_string(chars, "str.strip") : nullptr;
      return Value::from_string(pystr::strip(s.str(), set, name != "rstrip", name != "lstrip"), markup);
    });
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    return bound(self, name, [name, markup](const Value& s, Args&) {
      const std::string& t = s.str();
      return Value::from_string(name == "upper"   ? pystr::upper(t)
                                : name == "lower" ? pystr::lower(t)
                                : name == "title" ? pystr::title(t)
                                                  : pystr::capitalize(t),
                                markup);
    });
  }
  if (name == "startswith" || name == "endswith") {
    return bound(self, name, [name](const Value& s, Args& a) {
      const Value* what = arg(a, 0, "prefix");
      std::vector<std::string> options;
      if (what && what->kind == Kind::kList) {
        for (const Value& item : what->list()) options.push_back(require_string(&item, name.c_str()));
      } else {
        options.push_back(require_string(what, name.c_str()));
      }
      const std::string& t = s.str();
      for (const std::string& o : options) {
        if (name == "startswith" ? t.compare(0, o.size(), o) == 0
                                 : t.size() >= o.size() && t.compare(t.size() - o.size(), o.size(), o) == 0)
          return Value::from_bool(true);
      }
      return Value::from_bool(false);
    });
  }
  if (name == "split") {
    return bound(self, name, [](const Value& s, Args& a) {
      const Value* sep = arg(a, 0, "sep");
      const std::string* separator = sep && sep->kind != Kind::kNone ? &require_string(sep, "str.split") : nullptr;
      List parts;
      for (auto& part : pystr::split(s.str(), separator, optional_int(arg(a, 1, "maxsplit"), -1, "str.split")))
        parts.push_back(Value::from_string(std::move(part)));
      return Value::from_list(std::move(parts));
    });
  }
  if (name == "replace") {
    return bound(self, name, [markup](const Value& s, Args& a) {
      return Value::from_string(pystr::replace(s.str(), require_string(arg(a, 0, "old"), "str.replace"),
                                               require_string(arg(a, 1, "new"), "str.replace"),
                                               optional_int(arg(a, 2, "count"), -1, "str.replace")),
                                markup);
    });
  }
  if (name == "removeprefix" || name == "removesuffix") {
    return bound(self, name, [name, markup](const Value& s, Args& a) {
      const std::string& affix = require_string(arg(a, 0, "prefix"), name.c_str());
      std::string t = s.str();
      if (name == "removeprefix" && t.compare(0, affix.size(), affix) == 0) t.erase(0, affix.size());
      if (name == "removesuffix" && !affix.empty() && t.size() >= affix.size() &&
          t.compare(t.size() - affix.size(), affix.size(), affix) == 0)
        t.resize(t.size() - affix.size());
      return Value::from_string(std::move(t), markup);
    });
  }
  if (name == "find" || name == "count") {
    return bound(self, name, [name](const Value& s, Args& a) {
      const std::string& sub = require_string(arg(a, 0, "sub"), name.c_str());
      return Value::from_int(name == "find" ? pystr::find(s.str(), sub) : pystr::count(s.str(), sub));
    });
  }
  if (name == "join") {
    return bound(self, name, [](const Value& s, Args& a) {
      const Value* items = arg(a, 0, "iterable");
      if (!items) fail(ErrorCode::kInvalidArgument, "str.join expects one argument");
      std::string out;
      bool first = true;
      for (const Value& item : iterate(*items)) {
        if (!item.is_string())
          fail(ErrorCode::kInvalidArgument, "str.join: sequence item: expected str instance, {} found", type_name(item));
        if (!first) out += s.str();
        out += item.str();
        first = false;
      }
      return Value::from_string(std::move(out));
    });
  }
  if (name == "islower" || name == "isupper" || name == "isspace") {
    return bound(self, name, [name](const Value& s, Args&) {
      const std::string& t = s.str();
      if (name == "isspace") return Value::from_bool(!t.empty() && pystr::strip(t, nullptr, true, true).empty());
      return Value::from_bool(name == "islower" ? pystr::is_lower(t) : pystr::is_upper(t));
    });
  }
  for (const char* other : kOtherStrMethods)
    if (name == other) return unsupported_method("str", name);
  return Value::undefined(name);
}

Value dict_method(const Value& self, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return bound(self, name, [name](const Value& d, Args&) {
      List out;
      for (const auto& [k, v] : d.entries->entries) {
        if (name == "items") out.push_back(Value::from_list({Value::from_string(k), v}, ListStyle::kTuple));
        else out.push_back(name == "keys" ? Value::from_string(k) : v);
      }
      return Value::from_list(std::move(out), name == "items"  ? ListStyle::kDictItems
                                              : name == "keys" ? ListStyle::kDictKeys
                                                               : ListStyle::kDictValues);
    });
  }
  if (name == "get") {
    return bound(self, name, [](const Value& d, Args& a) {
      const Value* key = arg(a, 0, "key");
      const Value* fallback = arg(a, 1, "default");
      if (key && key->is_string())
        if (const Value* found = d.entries->find(key->str())) return *found;
      return fallback ? *fallback : Value::none();
    });
  }
  if (name == "copy") return bound(self, name, [](const Value& d, Args&) { return Value::from_dict(*d.entries); });
  // ImmutableSandboxedEnvironment: methods that modify a dict are unsafe.
  for (const char* unsafe : {"pop", "popitem", "setdefault", "update", "clear"})
    if (name == unsafe) return Value::undefined("dict." + name + " (unsafe in the sandbox)");
  if (name == "fromkeys") return unsupported_method("dict", name);
  return Value::undefined();
}

Value list_method(const Value& self, const std::string& name) {
  if (name == "index" || name == "count") {
    return bound(self, name, [name](const Value& l, Args& a) {
      const Value* x = arg(a, 0, "value");
      if (!x) fail(ErrorCode::kInvalidArgument, "list.{} expects one argument", name);
      int64_t n = 0;
      for (size_t i = 0; i < l.list().size(); ++i) {
        if (!equal(l.list()[i], *x)) continue;
        if (name == "index") return Value::from_int(static_cast<int64_t>(i));
        ++n;
      }
      if (name == "index") fail(ErrorCode::kInvalidArgument, "list.index: {} is not in list", to_repr(*x));
      return Value::from_int(n);
    });
  }
  if (name == "copy") return bound(self, name, [](const Value& l, Args&) { return Value::from_list(l.list()); });
  for (const char* unsafe : {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"})
    if (name == unsafe) return Value::undefined("list." + name + " (unsafe in the sandbox)");
  return Value::undefined(name);
}

// Python's index normalization for one subscript: negative counts from the end.
bool normalize_index(int64_t& i, int64_t size) {
  if (i < 0) i += size;
  return i >= 0 && i < size;
}

}  // namespace

void Budget::check_size(size_t size, const char* what) const {
  if (size > limits_.max_output_bytes)
    fail(ErrorCode::kInvalidArgument,
         "the chat template builds {} larger than the limit of {} bytes (max_output_bytes)", what,
         limits_.max_output_bytes);
}

void Budget::count_iteration() {
  if (++iterations_ > limits_.max_loop_iterations)
    fail(ErrorCode::kInvalidArgument, "the chat template runs more than {} loop iterations (max_loop_iterations)",
         limits_.max_loop_iterations);
}

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) undefined_error(obj);
  if (!name.empty() && name[0] == '_') return Value::undefined(name);  // the sandbox hides private attributes
  switch (obj.kind) {
    case Kind::kDict: {
      // Python attributes first (environment.getattr): message.items is the
      // method even when the dict has an "items" key.
      Value method = dict_method(obj, name);
      if (!method.is_undefined() || !method.hint.empty()) return method;
      if (const Value* found = obj.entries->find(name)) return *found;
      return Value::undefined(name);
    }
    case Kind::kNamespace: {
      if (const Value* found = obj.entries->find(name)) return *found;
      return Value::undefined(name);
    }
    case Kind::kString: return str_method(obj, name);
    case Kind::kList: return list_method(obj, name);
    default: return Value::undefined(name);
  }
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  if (key.is_integral() && (obj.kind == Kind::kList || obj.is_string())) {
    int64_t i = key.as_int();
    if (obj.kind == Kind::kList) {
      if (!normalize_index(i, static_cast<int64_t>(obj.list().size()))) return Value::undefined(to_repr(key));
      return obj.list()[static_cast<size_t>(i)];
    }
    const std::vector<size_t> offsets = code_point_offsets(obj.str());
    if (!normalize_index(i, static_cast<int64_t>(offsets.size()) - 1)) return Value::undefined(to_repr(key));
    const size_t at = offsets[static_cast<size_t>(i)];
    return Value::from_string(obj.str().substr(at, offsets[static_cast<size_t>(i) + 1] - at), obj.markup);
  }
  if (!key.is_string()) return Value::undefined(to_repr(key));
  if (obj.kind == Kind::kDict || obj.kind == Kind::kNamespace) {
    if (const Value* found = obj.entries->find(key.str())) return *found;
  }
  // Then the attribute of that name (environment.getitem).
  return get_attr(obj, key.str());
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step, Budget& budget) {
  if (obj.is_undefined()) undefined_error(obj);
  if (obj.kind != Kind::kList && !obj.is_string()) return Value::undefined("slice");
  auto index = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.kind == Kind::kNone) return std::nullopt;
    if (!v.is_integral())
      fail(ErrorCode::kInvalidArgument, "slice {} must be an integer or None, got {}", what, type_name(v));
    return v.as_int();
  };
  const int64_t s = index(step, "step").value_or(1);
  if (s == 0) fail(ErrorCode::kInvalidArgument, "slice step cannot be zero");
  const std::vector<size_t> offsets = obj.is_string() ? code_point_offsets(obj.str()) : std::vector<size_t>();
  const int64_t n = obj.is_string() ? static_cast<int64_t>(offsets.size()) - 1 : static_cast<int64_t>(obj.list().size());
  // CPython's PySlice_AdjustIndices.
  auto adjust = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t i = *v;
    if (i < 0) {
      i += n;
      if (i < 0) i = s < 0 ? -1 : 0;
    } else if (i >= n) {
      i = s < 0 ? n - 1 : n;
    }
    return i;
  };
  const int64_t first = adjust(index(start, "start"), s < 0 ? n - 1 : 0);
  const int64_t last = adjust(index(stop, "stop"), s < 0 ? -1 : n);
  std::vector<int64_t> picked;
  for (int64_t i = first; s > 0 ? i < last : i > last; i += s) picked.push_back(i);
  if (obj.is_string()) {
    std::string out;
    for (int64_t i : picked) {
      const size_t at = offsets[static_cast<size_t>(i)];
      out += obj.str().substr(at, offsets[static_cast<size_t>(i) + 1] - at);
    }
    return Value::from_string(std::move(out), obj.markup);
  }
  List out;
  for (int64_t i : picked) out.push_back(obj.list()[static_cast<size_t>(i)]);
  budget.check_size(out.size(), "a list");
  return Value::from_list(std::move(out));
}

List iterate(const Value& v) {
  switch (v.kind) {
    case Kind::kUndefined: return {};
    case Kind::kList: return v.list();
    case Kind::kDict: {
      List keys;
      for (const auto& entry : v.entries->entries) keys.push_back(Value::from_string(entry.first));
      return keys;
    }
    case Kind::kString: {
      List chars;
      const std::vector<size_t> offsets = code_point_offsets(v.str());
      for (size_t i = 0; i + 1 < offsets.size(); ++i)
        chars.push_back(Value::from_string(v.str().substr(offsets[i], offsets[i + 1] - offsets[i]), v.markup));
      return chars;
    }
    default: fail(ErrorCode::kInvalidArgument, "'{}' object is not iterable", type_name(v));
  }
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind) {
    case Kind::kUndefined: return false;
    case Kind::kString:
      if (!item.is_string())
        fail(ErrorCode::kInvalidArgument, "'in <string>' requires string as left operand, not {}", type_name(item));
      return container.str().find(item.str()) != std::string::npos;
    case Kind::kList:
      return std::any_of(container.list().begin(), container.list().end(),
                         [&](const Value& v) { return equal(v, item); });
    case Kind::kDict: return item.is_string() && container.entries->find(item.str()) != nullptr;
    default: fail(ErrorCode::kInvalidArgument, "argument of type '{}' is not iterable", type_name(container));
  }
}

namespace {

int64_t checked(bool overflow, int64_t value, const char* op) {
  if (overflow)
    fail(ErrorCode::kInvalidArgument, "integer overflow in '{}' (Python's unbounded integers are outside the supported subset)", op);
  return value;
}

double floor_mod(double a, double b) {
  const double m = std::fmod(a, b);
  return m != 0 && ((m < 0) != (b < 0)) ? m + b : m;
}

Value repeat(const Value& seq, int64_t times, Budget& budget) {
  const int64_t n = std::max<int64_t>(times, 0);
  if (seq.is_string()) {
    const size_t size = seq.str().size();
    if (size && static_cast<uint64_t>(n) > budget.limits().max_output_bytes / size) budget.check_size(SIZE_MAX, "a string");
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value::from_string(std::move(out), seq.markup);
  }
  const size_t size = seq.list().size();
  if (size && static_cast<uint64_t>(n) > budget.limits().max_output_bytes / size) budget.check_size(SIZE_MAX, "a list");
  List out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.list().begin(), seq.list().end());
  return Value::from_list(std::move(out));
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b, Budget& budget) {
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  if (a.is_numeric() && b.is_numeric()) {
    const bool ints = a.is_integral() && b.is_integral();
    const int64_t x = a.as_int(), y = b.as_int();
    const double p = a.as_double(), q = b.as_double();
    int64_t r = 0;
    if (op == "+" || op == "-" || op == "*") {
      if (!ints) return Value::from_float(op == "+" ? p + q : op == "-" ? p - q : p * q);
      const bool overflow = op == "+"   ? __builtin_add_overflow(x, y, &r)
                            : op == "-" ? __builtin_sub_overflow(x, y, &r)
                                        : __builtin_mul_overflow(x, y, &r);
      return Value::from_int(checked(overflow, r, op.c_str()));
    }
    if ((op == "/" || op == "//" || op == "%") && q == 0)
      fail(ErrorCode::kInvalidArgument, "division by zero in '{}'", op);
    if (op == "/") return Value::from_float(p / q);
    if (op == "//") {
      if (!ints) return Value::from_float(std::floor(p / q));
      if (x == INT64_MIN && y == -1) checked(true, 0, "//");
      return Value::from_int(x / y - ((x % y != 0) && ((x < 0) != (y < 0)) ? 1 : 0));
    }
    if (op == "%") {
      if (!ints) return Value::from_float(floor_mod(p, q));
      if (y == -1) return Value::from_int(0);
      const int64_t m = x % y;
      return Value::from_int(m != 0 && ((m < 0) != (y < 0)) ? m + y : m);
    }
    if (op == "**") {
      if (ints && y >= 0) {
        int64_t result = 1, base = x;
        for (int64_t e = y; e > 0; e >>= 1) {
          if (e & 1) {
            const bool overflow = __builtin_mul_overflow(result, base, &r);
            result = checked(overflow, r, "**");
          }
          if (e > 1) {
            const bool overflow = __builtin_mul_overflow(base, base, &r);
            base = checked(overflow, r, "**");
          }
        }
        return Value::from_int(result);
      }
      if (p == 0 && q < 0) fail(ErrorCode::kInvalidArgument, "0.0 cannot be raised to a negative power");
      return Value::from_float(std::pow(p, q));
    }
  }
  if (op == "+" && a.is_string() && b.is_string()) {
    budget.check_size(a.str().size() + b.str().size(), "a string");
    // Markup + str escapes the str, and so does str + Markup (Markup's
    // __radd__ runs first, being a str subclass): tojson's output is Markup.
    if (a.markup == b.markup) return Value::from_string(a.str() + b.str(), a.markup);
    if (a.markup) return Value::from_string(a.str() + html_escape(b.str()), true);
    return Value::from_string(html_escape(a.str()) + b.str(), true);
  }
  if (op == "+" && a.kind == Kind::kList && b.kind == Kind::kList) {
    budget.check_size(a.list().size() + b.list().size(), "a list");
    List out = a.list();
    out.insert(out.end(), b.list().begin(), b.list().end());
    return Value::from_list(std::move(out));
  }
  if (op == "*" && (a.is_string() || a.kind == Kind::kList) && b.is_integral()) return repeat(a, b.as_int(), budget);
  if (op == "*" && (b.is_string() || b.kind == Kind::kList) && a.is_integral()) return repeat(b, a.as_int(), budget);
  if (op == "%" && a.is_string())
    fail(ErrorCode::kUnsupported, "string formatting with '%' is outside the supported template subset");
  fail(ErrorCode::kInvalidArgument, "unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(a), type_name(b));
}

Support test_support(const std::string& name) {
  static const char* const kTests[] = {"odd", "even", "divisibleby", "defined", "undefined", "none", "boolean",
                                       "false", "true", "integer", "float", "lower", "upper", "string", "mapping",
                                       "number", "sequence", "iterable", "callable", "sameas", "escaped", "in",
                                       "==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", ">=", "ge",
                                       "<", "lt", "lessthan", "<=", "le", "filter", "test"};
  for (const char* t : kTests)
    if (name == t) return Support::kSupported;
  return Support::kUnknown;
}

bool apply_test(const std::string& name, const Value& v, Args& args) {
  const Value* other = arg(args, 0, "other");
  auto need_other = [&]() -> const Value& {
    if (!other) fail(ErrorCode::kInvalidArgument, "the '{}' test expects an argument", name);
    return *other;
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.kind == Kind::kNone;
  if (name == "boolean") return v.kind == Kind::kBool;
  if (name == "false") return v.kind == Kind::kBool && !v.boolean;
  if (name == "true") return v.kind == Kind::kBool && v.boolean;
  if (name == "integer") return v.kind == Kind::kInt;
  if (name == "float") return v.kind == Kind::kFloat;
  if (name == "number") return v.is_numeric();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.kind == Kind::kDict;
  if (name == "escaped") return v.is_string() && v.markup;
  // Undefined has __iter__, __len__, __getitem__ and __call__ in jinja2.
  if (name == "iterable") return v.is_undefined() || v.is_string() || v.kind == Kind::kList || v.kind == Kind::kDict;
  if (name == "sequence") return v.is_undefined() || v.is_string() || v.kind == Kind::kList || v.kind == Kind::kDict;
  if (name == "callable") return v.is_undefined() || v.kind == Kind::kFunction;
  if (name == "lower") return pystr::is_lower(to_str(v));
  if (name == "upper") return pystr::is_upper(to_str(v));
  if (name == "odd" || name == "even") {
    if (v.is_undefined()) undefined_error(v);
    if (!v.is_integral()) fail(ErrorCode::kInvalidArgument, "the '{}' test expects an integer", name);
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    Budget scratch{Limits{}};  // % on numbers builds nothing
    const Value m = binary_op("%", v, need_other(), scratch);
    return equal(m, Value::from_int(0));
  }
  if (name == "sameas") {
    const Value& o = need_other();
    if (v.kind != o.kind) return false;
    if (v.kind == Kind::kNone || v.kind == Kind::kUndefined) return true;
    if (v.kind == Kind::kBool) return v.boolean == o.boolean;
    return v.items == o.items && v.text == o.text && v.entries == o.entries && v.function == o.function &&
           v.kind != Kind::kInt && v.kind != Kind::kFloat;
  }
  if (name == "in") return contains(need_other(), v);
  if (name == "==" || name == "eq" || name == "equalto") return equal(v, need_other());
  if (name == "!=" || name == "ne") return !equal(v, need_other());
  if (name == "<" || name == "lt" || name == "lessthan") return less(v, need_other());
  if (name == ">" || name == "gt" || name == "greaterthan") return less(need_other(), v);
  if (name == "<=" || name == "le") return !less(need_other(), v);
  if (name == ">=" || name == "ge") return !less(v, need_other());
  if (name == "filter") return v.is_string() && filter_support(v.str()) != Support::kUnknown;
  if (name == "test") return v.is_string() && test_support(v.str()) != Support::kUnknown;
  fail(ErrorCode::kBadFile, "no test named '{}'", name);
}

Value global_function(const std::string& name, Budget& budget) {
  if (name == "raise_exception") {
    return Value::make_function(name, [](Args& a) -> Value {
      const Value* message = arg(a, 0, "message");
      throw TemplateException(message ? to_str(*message) : "");
    });
  }
  if (name == "range") {
    return Value::make_function(name, [&budget](Args& a) {
      if (a.positional.empty() || a.positional.size() > 3 || !a.keywords.empty())
        fail(ErrorCode::kInvalidArgument, "range expects 1 to 3 integer arguments");
      for (const Value& v : a.positional)
        if (!v.is_integral()) fail(ErrorCode::kInvalidArgument, "range: '{}' object cannot be interpreted as an integer", type_name(v));
      const int64_t start = a.positional.size() > 1 ? a.positional[0].as_int() : 0;
      const int64_t stop = a.positional.size() > 1 ? a.positional[1].as_int() : a.positional[0].as_int();
      const int64_t step = a.positional.size() > 2 ? a.positional[2].as_int() : 1;
      if (step == 0) fail(ErrorCode::kInvalidArgument, "range() arg 3 must not be zero");
      const long double count = std::ceil((static_cast<long double>(stop) - start) / step);
      // jinja2's sandbox refuses ranges of more than MAX_RANGE = 100000 items.
      if (count > 100000) fail(ErrorCode::kInvalidArgument, "range too big: the sandbox allows at most 100000 items");
      List out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(Value::from_int(i));
      budget.check_size(out.size(), "a list");
      return Value::from_list(std::move(out));
    });
  }
  if (name == "dict" || name == "namespace") {
    return Value::make_function(name, [name](Args& a) {
      Dict d;
      if (!a.positional.empty()) {
        if (a.positional.size() > 1 || a.positional[0].kind != Kind::kDict)
          fail(ErrorCode::kInvalidArgument, "{}() takes keyword arguments or one dict", name);
        d = *a.positional[0].entries;
      }
      for (const auto& [k, v] : a.keywords) d.set(k, v);
      return name == "dict" ? Value::from_dict(std::move(d)) : Value::make_namespace(std::move(d));
    });
  }
  if (name == "lipsum" || name == "cycler" || name == "joiner") {
    return Value::make_function(name, [name](Args&) -> Value {
      fail(ErrorCode::kUnsupported, "the global '{}' is outside the supported template subset", name);
    });
  }
  return Value::undefined(name);
}

}  // namespace vkinfer::jinja
