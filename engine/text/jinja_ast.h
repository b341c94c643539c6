// The syntax tree of a parsed template: expressions (Expr) and statements
// (Node). One generic node per kind keeps the parser and the renderer
// short; which fields a kind uses is noted beside it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/text/jinja_value.h"

namespace vkinfer::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  kConst,    // value
  kName,     // name
  kList,     // args: items
  kTuple,    // args: items (a list to Python code here; tuples are read-only lists)
  kDict,     // args: key, value, key, value...
  kAttr,     // operand.name
  kItem,     // operand[args[0]]
  kSlice,    // operand[args[0]:args[1]:args[2]] (null parts are omitted)
  kCall,     // operand(args..., kwargs...)
  kFilter,   // operand | name(args..., kwargs...)
  kTest,     // operand is [not] name(args...)
  kNot,      // not operand
  kNeg,      // -operand
  kPos,      // +operand
  kBinary,   // args[0] op args[1]: + - * / // % **
  kConcat,   // args joined with ~
  kCompare,  // args[0] ops[0] args[1] ops[1] args[2]...: == != < <= > >= in notin
  kAnd,      // args[0] and args[1]
  kOr,       // args[0] or args[1]
  kCond,     // args[1] if args[0] else args[2] (args[2] may be null)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  Value value;
  std::string name;  // names, attributes, filters, tests, binary operator
  ExprPtr operand;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;  // comparison operators
  bool negated = false;          // `is not`
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

enum class NodeKind {
  kText,      // text
  kOutput,    // {{ expr }}
  kIf,        // branches: (condition, body)...; else_body
  kFor,       // targets in expr [if filter]: body; else_body
  kSet,       // targets = expr, or target.attr = expr (attr set)
  kSetBlock,  // {% set name %}body{% endset %}
};

struct Node {
  NodeKind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<std::string> targets;
  std::string attr;  // kSet on a namespace: targets[0].attr
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
};

}  // namespace vkinfer::jinja
