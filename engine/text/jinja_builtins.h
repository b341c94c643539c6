// What a template can call on values, as jinja2 3.1 in transformers'
// ImmutableSandboxedEnvironment provides it: attribute and item lookup
// (environment.getattr / getitem, so `message.role` and `message['items']`
// resolve as there), the Python str/dict methods templates use, jinja2's
// filters and tests, the globals (range, dict, namespace, raise_exception),
// and Python's operators. Anything outside this subset is an error that
// names it, never a silent difference. The Budget bounds what a template can
// build: strings, lists and loop iterations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/error.h"
#include "engine/text/jinja_value.h"

namespace vkinfer::jinja {

struct Limits {
  size_t max_output_bytes = size_t{4} << 20;  // the rendered text, and any one string or list built
  int64_t max_loop_iterations = 1'000'000;    // over the whole render
};

class Budget {
 public:
  explicit Budget(const Limits& limits) : limits_(limits) {}
  const Limits& limits() const { return limits_; }
  // Throws kInvalidArgument naming the limit when a string (bytes) or list
  // (items) would grow past max_output_bytes.
  void check_size(size_t size, const char* what) const;
  void count_iteration();

 private:
  Limits limits_;
  int64_t iterations_ = 0;
};

// obj.name: a method, a dict entry, a namespace attribute, or Undefined.
Value get_attr(const Value& obj, const std::string& name);
// obj[key]: an item, then an attribute of that name, or Undefined.
Value get_item(const Value& obj, const Value& key);
// obj[start:stop:step] on a list or a str (by code point).
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step, Budget& budget);

// Whether jinja2 has a filter or test of this name, and whether this
// subset implements it (checked when a template is parsed, as jinja2 does).
enum class Support { kUnknown, kSupported, kUnsupported };
Support filter_support(const std::string& name);
Support test_support(const std::string& name);

Value apply_filter(const std::string& name, const Value& operand, Args& args, Budget& budget);
bool apply_test(const std::string& name, const Value& operand, Args& args);

// Python's binary operators: + - * / // % **.
Value binary_op(const std::string& op, const Value& a, const Value& b, Budget& budget);
// `item in container`.
bool contains(const Value& container, const Value& item);
// Iterating a value in a for loop: a list's items, a dict's keys, a str's
// characters; Undefined is empty.
List iterate(const Value& v);

// The template globals: range, dict, namespace, raise_exception (which
// throws TemplateException with the message as given).
Value global_function(const std::string& name, Budget& budget);

// raise_exception(message) from a template: the message is the template
// author's, passed through as transformers' TemplateError carries it.
class TemplateException : public Error {
 public:
  // message() is the template's message as given; what() may dress it.
  explicit TemplateException(const std::string& message) : TemplateException(message, message) {}
  TemplateException(const std::string& message, const std::string& shown)
      : Error(ErrorCode::kInvalidArgument, shown), message_(message) {}
  const std::string& message() const { return message_; }

 private:
  std::string message_;
};

}  // namespace vkinfer::jinja
