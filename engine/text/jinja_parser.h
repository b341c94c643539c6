// Tokens -> syntax tree, with jinja2 3.1's grammar and operator precedence
// (jinja2/parser.py) for the subset chat templates use: text, {{ }},
// if/elif/else, for (with a loop filter and else), set (plain, namespace
// attribute, block), comments and raw blocks; expressions with literals,
// attribute/item/slice access, calls, filters, tests, arithmetic, ~,
// comparisons, in, and/or/not and inline if/else. Tags jinja2 has but this
// subset lacks (macro, call, include, ...) are refused by name with
// kUnsupported; tags jinja2 would not know either (break without the
// loopcontrols extension, which transformers 4.40 does not load) with
// kBadFile, as jinja2 refuses them.
#pragma once

#include <string_view>

#include "engine/text/jinja_ast.h"
#include "engine/text/jinja_lexer.h"

namespace vkinfer::jinja {

// Nesting deeper than this (blocks inside blocks, or parentheses) is refused
// rather than recursed into.
inline constexpr int kMaxNesting = 128;

Body parse(std::string_view source);

}  // namespace vkinfer::jinja
