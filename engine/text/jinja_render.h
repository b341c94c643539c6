// A parsed Jinja template and its renderer: the part of jinja2 3.1 that
// transformers' apply_chat_template runs (an ImmutableSandboxedEnvironment
// with trim_blocks and lstrip_blocks, raise_exception as a global). Parsing
// happens once; render() evaluates the tree against a context of variables.
// Rendering is bounded (Limits): the output's size, any string or list a
// template builds, and the loop iterations of the whole render.
#pragma once

#include <string>
#include <string_view>

#include "engine/text/jinja_ast.h"
#include "engine/text/jinja_builtins.h"

namespace vkinfer::jinja {

class Template {
 public:
  // Throws vkinfer::Error: kBadFile for a syntax error, kUnsupported for a
  // construct outside the subset (both name the line).
  explicit Template(std::string_view source);

  // Throws TemplateException for raise_exception(...), and vkinfer::Error
  // (kInvalidArgument) for any other failure, a limit included.
  std::string render(const Dict& context, const Limits& limits = {}) const;

 private:
  Body body_;
};

}  // namespace vkinfer::jinja
