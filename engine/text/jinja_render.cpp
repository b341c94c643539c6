// The tree-walking renderer. Scoping follows what jinja2 3.1 compiles: a
// `set` inside a for loop lives in that iteration only (each iteration starts
// again from the enclosing values, which is why templates use namespace()),
// an `if` opens no scope, and names resolve through the loop frames, the
// template's top-level sets, the render context, then the globals.
#include "engine/text/jinja_render.h"

#include "engine/text/jinja_parser.h"

namespace vkinfer::jinja {
namespace {

void check_names(const Expr* e);

void check_names(const Body& body) {
  for (const NodePtr& node : body) {
    check_names(node->expr.get());
    check_names(node->filter.get());
    for (const auto& [condition, branch] : node->branches) {
      check_names(condition.get());
      check_names(branch);
    }
    check_names(node->body);
    check_names(node->else_body);
  }
}

// jinja2 refuses unknown filters and tests when it compiles a template.
void check_names(const Expr* e) {
  if (!e) return;
  if (e->kind == ExprKind::kFilter) {
    const Support support = filter_support(e->name);
    if (support == Support::kUnknown) fail(ErrorCode::kBadFile, "line {}: no filter named '{}'", e->line, e->name);
    if (support == Support::kUnsupported)
      fail(ErrorCode::kUnsupported, "line {}: the '{}' filter is outside the supported template subset", e->line, e->name);
  }
  if (e->kind == ExprKind::kTest && test_support(e->name) == Support::kUnknown)
    fail(ErrorCode::kBadFile, "line {}: no test named '{}'", e->line, e->name);
  check_names(e->operand.get());
  for (const ExprPtr& a : e->args) check_names(a.get());
  for (const auto& [k, a] : e->kwargs) check_names(a.get());
}

class Renderer {
 public:
  Renderer(const Dict& context, const Limits& limits) : context_(context), budget_(limits) {}

  std::string run(const Body& body) {
    frames_.emplace_back();  // the template's own top-level sets
    exec(body);
    return std::move(out_);
  }

 private:
  using Frame = Dict;

  Value lookup(const std::string& name) {
    for (auto frame = frames_.rbegin(); frame != frames_.rend(); ++frame)
      if (const Value* v = frame->find(name)) return *v;
    if (const Value* v = context_.find(name)) return *v;
    return global_function(name, budget_);
  }

  void emit(const std::string& text) {
    budget_.check_size(out_.size() + text.size(), "an output");
    out_ += text;
  }

  void bind(const std::vector<std::string>& targets, const Value& value, int line) {
    if (targets.size() == 1) {
      frames_.back().set(targets[0], value);
      return;
    }
    const List items = iterate(value);
    if (items.size() != targets.size())
      fail(ErrorCode::kInvalidArgument, "line {}: cannot unpack {} values into {} names", line, items.size(),
           targets.size());
    for (size_t i = 0; i < targets.size(); ++i) frames_.back().set(targets[i], items[i]);
  }

  void exec(const Body& body) {
    for (const NodePtr& node : body) exec(*node);
  }

  void exec(const Node& node) {
    switch (node.kind) {
      case NodeKind::kText: emit(node.text); return;
      case NodeKind::kOutput: emit(to_str(eval(*node.expr))); return;
      case NodeKind::kIf:
        for (const auto& [condition, branch] : node.branches) {
          if (truthy(eval(*condition))) {
            exec(branch);
            return;
          }
        }
        exec(node.else_body);
        return;
      case NodeKind::kFor: exec_for(node); return;
      case NodeKind::kSet: {
        Value value = eval(*node.expr);
        if (node.attr.empty()) {
          bind(node.targets, value, node.line);
          return;
        }
        const Value target = lookup(node.targets[0]);
        if (target.kind != Kind::kNamespace)
          fail(ErrorCode::kInvalidArgument, "line {}: cannot assign attribute on non-namespace object '{}'", node.line,
               node.targets[0]);
        target.entries->set(node.attr, std::move(value));
        return;
      }
      case NodeKind::kSetBlock: {
        std::string saved = std::move(out_);
        out_.clear();
        exec(node.body);
        std::string captured = std::move(out_);
        out_ = std::move(saved);
        frames_.back().set(node.targets[0], Value::from_string(std::move(captured)));
        return;
      }
    }
  }

  void exec_for(const Node& node) {
    List items = iterate(eval(*node.expr));
    if (node.filter) {
      List kept;
      for (Value& item : items) {
        budget_.count_iteration();
        frames_.emplace_back();
        bind(node.targets, item, node.line);
        const bool keep = truthy(eval(*node.filter));
        frames_.pop_back();
        if (keep) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    const int64_t n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      budget_.count_iteration();
      frames_.emplace_back();
      bind(node.targets, items[static_cast<size_t>(i)], node.line);
      Dict loop;
      loop.set("index0", Value::from_int(i));
      loop.set("index", Value::from_int(i + 1));
      loop.set("revindex0", Value::from_int(n - i - 1));
      loop.set("revindex", Value::from_int(n - i));
      loop.set("first", Value::from_bool(i == 0));
      loop.set("last", Value::from_bool(i == n - 1));
      loop.set("length", Value::from_int(n));
      loop.set("depth", Value::from_int(1));
      loop.set("depth0", Value::from_int(0));
      loop.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("loop.previtem"));
      loop.set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("loop.nextitem"));
      loop.set("cycle", Value::make_function("loop.cycle", [i](Args& a) {
        if (a.positional.empty()) fail(ErrorCode::kInvalidArgument, "loop.cycle expects at least one argument");
        return a.positional[static_cast<size_t>(i) % a.positional.size()];
      }));
      frames_.back().set("loop", Value::from_dict(std::move(loop)));
      exec(node.body);
      frames_.pop_back();
    }
    if (n == 0) exec(node.else_body);
  }

  Args eval_args(const Expr& e) {
    Args args;
    for (const ExprPtr& a : e.args) args.positional.push_back(eval(*a));
    for (const auto& [k, a] : e.kwargs) args.keywords.emplace_back(k, eval(*a));
    return args;
  }

  Value eval(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kConst: return e.value;
      case ExprKind::kName: return lookup(e.name);
      case ExprKind::kList:
      case ExprKind::kTuple: {
        List items;
        for (const ExprPtr& a : e.args) items.push_back(eval(*a));
        return Value::from_list(std::move(items), e.kind == ExprKind::kTuple ? ListStyle::kTuple : ListStyle::kList);
      }
      case ExprKind::kDict: {
        Dict d;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          const Value key = eval(*e.args[i]);
          if (!key.is_string())
            fail(ErrorCode::kUnsupported, "line {}: dict keys other than strings are outside the supported template subset", e.line);
          d.set(key.str(), eval(*e.args[i + 1]));
        }
        return Value::from_dict(std::move(d));
      }
      case ExprKind::kAttr: return get_attr(eval(*e.operand), e.name);
      case ExprKind::kItem: {
        const Value obj = eval(*e.operand);
        return get_item(obj, eval(*e.args[0]));
      }
      case ExprKind::kSlice: {
        const Value obj = eval(*e.operand);
        auto part = [&](size_t i) { return e.args[i] ? eval(*e.args[i]) : Value::none(); };
        return get_slice(obj, part(0), part(1), part(2), budget_);
      }
      case ExprKind::kCall: {
        const Value callee = eval(*e.operand);
        Args args = eval_args(e);
        if (callee.kind == Kind::kFunction) return callee.function->call(args);
        if (callee.is_undefined())
          fail(ErrorCode::kInvalidArgument, "line {}: '{}' is undefined", e.line, callee.hint.empty() ? "value" : callee.hint);
        fail(ErrorCode::kInvalidArgument, "line {}: '{}' object is not callable", e.line, type_name(callee));
      }
      case ExprKind::kFilter: {
        const Value operand = eval(*e.operand);
        Args args = eval_args(e);
        return apply_filter(e.name, operand, args, budget_);
      }
      case ExprKind::kTest: {
        const Value operand = eval(*e.operand);
        Args args = eval_args(e);
        return Value::from_bool(apply_test(e.name, operand, args) != e.negated);
      }
      case ExprKind::kNot: return Value::from_bool(!truthy(eval(*e.operand)));
      case ExprKind::kNeg:
      case ExprKind::kPos: {
        const Value v = eval(*e.operand);
        const char* op = e.kind == ExprKind::kNeg ? "-" : "+";
        if (v.is_undefined())
          fail(ErrorCode::kInvalidArgument, "line {}: '{}' is undefined", e.line, v.hint.empty() ? "value" : v.hint);
        if (!v.is_numeric()) fail(ErrorCode::kInvalidArgument, "line {}: bad operand type for unary {}: '{}'", e.line, op, type_name(v));
        if (v.kind == Kind::kFloat) return Value::from_float(e.kind == ExprKind::kNeg ? -v.number : v.number);
        if (e.kind == ExprKind::kPos) return Value::from_int(v.as_int());
        if (v.as_int() == INT64_MIN) fail(ErrorCode::kInvalidArgument, "line {}: integer overflow in unary -", e.line);
        return Value::from_int(-v.as_int());
      }
      case ExprKind::kBinary: {
        const Value a = eval(*e.args[0]);
        return binary_op(e.name, a, eval(*e.args[1]), budget_);
      }
      case ExprKind::kConcat: {
        std::string out;
        for (const ExprPtr& a : e.args) {
          out += to_str(eval(*a));
          budget_.check_size(out.size(), "a string");
        }
        return Value::from_string(std::move(out));
      }
      case ExprKind::kCompare: {
        Value left = eval(*e.args[0]);
        for (size_t i = 0; i < e.ops.size(); ++i) {
          Value right = eval(*e.args[i + 1]);
          const std::string& op = e.ops[i];
          bool ok;
          if (op == "==") ok = equal(left, right);
          else if (op == "!=") ok = !equal(left, right);
          else if (op == "<") ok = less(left, right);
          else if (op == ">") ok = less(right, left);
          else if (op == "<=") ok = less(left, right) || equal(left, right);
          else if (op == ">=") ok = less(right, left) || equal(left, right);
          else if (op == "in") ok = contains(right, left);
          else ok = !contains(right, left);
          if (!ok) return Value::from_bool(false);
          left = std::move(right);
        }
        return Value::from_bool(true);
      }
      case ExprKind::kAnd: {
        Value a = eval(*e.args[0]);
        return truthy(a) ? eval(*e.args[1]) : a;
      }
      case ExprKind::kOr: {
        Value a = eval(*e.args[0]);
        return truthy(a) ? a : eval(*e.args[1]);
      }
      case ExprKind::kCond:
        if (truthy(eval(*e.args[0]))) return eval(*e.args[1]);
        return e.args[2] ? eval(*e.args[2]) : Value::undefined();
    }
    return Value::undefined();
  }

  const Dict& context_;
  Budget budget_;
  std::vector<Frame> frames_;
  std::string out_;
};

}  // namespace

Template::Template(std::string_view source) : body_(parse(source)) { check_names(body_); }

std::string Template::render(const Dict& context, const Limits& limits) const {
  return Renderer(context, limits).run(body_);
}

}  // namespace vkinfer::jinja
