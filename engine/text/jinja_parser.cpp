// Recursive descent over the token list, one function per jinja2 grammar
// rule (parse_condexpr, parse_or, ..., parse_primary), so that precedence
// and associativity match jinja2's: `a ~ b + c` is `(a ~ b) + c`, a filter
// binds tighter than any operator, `not x is y` is `not (x is y)`.
#include "engine/text/jinja_parser.h"

#include <algorithm>

#include "engine/core/error.h"

namespace vkinfer::jinja {
namespace {

const char* const kUnsupportedTags[] = {"macro", "call", "filter", "block", "extends", "include", "import",
                                        "from", "with", "autoescape", "print", "endmacro", "endcall",
                                        "endfilter", "endblock", "endwith", "endautoescape"};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse_template() {
    Body body = parse_body({});
    if (cur().type != Tok::kEof) unexpected();
    return body;
  }

 private:
  struct Depth {  // counts nesting; refuses templates nested past kMaxNesting
    explicit Depth(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxNesting)
        fail(ErrorCode::kBadFile, "line {}: the template nests deeper than {} levels", parser.cur().line,
             kMaxNesting);
    }
    ~Depth() { --parser.depth_; }
    Parser& parser;
  };

  const Token& cur() const { return tokens_[pos_]; }
  const Token& peek(size_t ahead = 1) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  Token next() {
    Token t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool is_op(const char* op) const { return cur().type == Tok::kOp && cur().text == op; }
  bool is_name(const char* name) const { return cur().type == Tok::kName && cur().text == name; }
  [[noreturn]] void unexpected() const {
    fail(ErrorCode::kBadFile, "line {}: unexpected {}", cur().line, describe(cur()));
  }
  void expect_op(const char* op) {
    if (!is_op(op)) fail(ErrorCode::kBadFile, "line {}: expected '{}', got {}", cur().line, op, describe(cur()));
    next();
  }
  void expect_name(const char* name) {
    if (!is_name(name)) fail(ErrorCode::kBadFile, "line {}: expected '{}', got {}", cur().line, name, describe(cur()));
    next();
  }
  void expect(Tok type) {
    if (cur().type != type) {
      Token want;
      want.type = type;
      fail(ErrorCode::kBadFile, "line {}: expected {}, got {}", cur().line, describe(want), describe(cur()));
    }
    next();
  }
  std::string expect_identifier() {
    if (cur().type != Tok::kName) fail(ErrorCode::kBadFile, "line {}: expected a name, got {}", cur().line, describe(cur()));
    return next().text;
  }

  static ExprPtr make(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // Statements up to one of `ends` (left unconsumed after its '{%').
  Body parse_body(std::vector<std::string> ends) {
    Depth depth(*this);
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == Tok::kEof) {
        if (!ends.empty())
          fail(ErrorCode::kBadFile, "unexpected end of template: expected '{{% {} %}}'", ends.back());
        return body;
      }
      if (t.type == Tok::kData) {
        auto node = std::make_unique<Node>();
        node->kind = NodeKind::kText;
        node->line = t.line;
        node->text = t.text;
        body.push_back(std::move(node));
        next();
      } else if (t.type == Tok::kVarBegin) {
        auto node = std::make_unique<Node>();
        node->kind = NodeKind::kOutput;
        node->line = t.line;
        next();
        node->expr = parse_tuple();
        expect(Tok::kVarEnd);
        body.push_back(std::move(node));
      } else if (t.type == Tok::kBlockBegin) {
        const Token& tag = peek();
        if (tag.type == Tok::kName && std::find(ends.begin(), ends.end(), tag.text) != ends.end()) {
          next();  // '{%'; the caller reads the tag name
          return body;
        }
        next();
        body.push_back(parse_statement());
      } else {
        unexpected();
      }
    }
  }

  NodePtr parse_statement() {
    const Token& tag = cur();
    if (tag.type != Tok::kName) fail(ErrorCode::kBadFile, "line {}: expected a tag name, got {}", tag.line, describe(tag));
    if (tag.text == "if") return parse_if();
    if (tag.text == "for") return parse_for();
    if (tag.text == "set") return parse_set();
    for (const char* name : kUnsupportedTags)
      if (tag.text == name)
        fail(ErrorCode::kUnsupported, "line {}: the '{}' tag is outside the supported template subset", tag.line,
             tag.text);
    fail(ErrorCode::kBadFile, "line {}: unknown tag '{}'", tag.line, tag.text);
  }

  NodePtr parse_if() {
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kIf;
    node->line = next().line;  // 'if'
    while (true) {
      ExprPtr condition = parse_tuple();
      expect(Tok::kBlockEnd);
      Body body = parse_body({"elif", "else", "endif"});
      node->branches.emplace_back(std::move(condition), std::move(body));
      const std::string tag = next().text;
      if (tag == "elif") continue;
      if (tag == "else") {
        expect(Tok::kBlockEnd);
        node->else_body = parse_body({"endif"});
        next();
      }
      expect(Tok::kBlockEnd);
      return node;
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> targets;
    const bool parens = is_op("(");
    if (parens) next();
    targets.push_back(expect_identifier());
    while (is_op(",")) {
      next();
      if (cur().type != Tok::kName || is_name("in")) break;
      targets.push_back(expect_identifier());
    }
    if (parens) expect_op(")");
    return targets;
  }

  NodePtr parse_for() {
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kFor;
    node->line = next().line;  // 'for'
    node->targets = parse_targets();
    expect_name("in");
    node->expr = parse_tuple(/*with_condexpr=*/false);
    if (is_name("recursive"))
      fail(ErrorCode::kUnsupported, "line {}: recursive loops are outside the supported template subset", cur().line);
    if (is_name("if")) {
      next();
      node->filter = parse_expression();
    }
    expect(Tok::kBlockEnd);
    node->body = parse_body({"endfor", "else"});
    if (next().text == "else") {
      expect(Tok::kBlockEnd);
      node->else_body = parse_body({"endfor"});
      next();
    }
    expect(Tok::kBlockEnd);
    return node;
  }

  NodePtr parse_set() {
    auto node = std::make_unique<Node>();
    node->line = next().line;  // 'set'
    const std::string first = expect_identifier();
    if (is_op(".")) {
      next();
      node->attr = expect_identifier();
      node->targets = {first};
    } else {
      node->targets = {first};
      while (is_op(",")) {
        next();
        node->targets.push_back(expect_identifier());
      }
    }
    if (is_op("=")) {
      next();
      node->kind = NodeKind::kSet;
      node->expr = parse_tuple();
      expect(Tok::kBlockEnd);
      return node;
    }
    if (!node->attr.empty() || node->targets.size() != 1) unexpected();
    if (is_op("|"))
      fail(ErrorCode::kUnsupported, "line {}: filtered set blocks are outside the supported template subset", cur().line);
    expect(Tok::kBlockEnd);
    node->kind = NodeKind::kSetBlock;
    node->body = parse_body({"endset"});
    next();
    expect(Tok::kBlockEnd);
    return node;
  }

  // An expression, or several separated by commas (a tuple).
  ExprPtr parse_tuple(bool with_condexpr = true, bool explicit_parens = false) {
    const int line = cur().line;
    std::vector<ExprPtr> items;
    bool comma = false;
    while (true) {
      if (!items.empty()) {
        if (!is_op(",")) break;
        next();
        comma = true;
      }
      if (cur().type == Tok::kVarEnd || cur().type == Tok::kBlockEnd || is_op(")") || is_name("in") ||
          (is_name("if") && !with_condexpr && !items.empty()) || is_name("recursive")) {
        if (items.empty() && !explicit_parens) unexpected();
        break;
      }
      items.push_back(with_condexpr ? parse_expression() : parse_or());
    }
    if (items.size() == 1 && !comma) return std::move(items[0]);
    auto tuple = make(ExprKind::kTuple, line);
    tuple->args = std::move(items);
    return tuple;
  }

  ExprPtr parse_expression() { return parse_condexpr(); }

  ExprPtr parse_condexpr() {
    Depth depth(*this);
    ExprPtr expr = parse_or();
    while (is_name("if")) {
      const int line = next().line;
      auto cond = make(ExprKind::kCond, line);
      cond->args.push_back(parse_or());
      cond->args.push_back(std::move(expr));
      if (is_name("else")) {
        next();
        cond->args.push_back(parse_condexpr());
      } else {
        cond->args.push_back(nullptr);
      }
      expr = std::move(cond);
    }
    return expr;
  }

  ExprPtr binary(ExprKind kind, ExprPtr left, ExprPtr right, int line, std::string op = {}) {
    auto e = make(kind, line);
    e->name = std::move(op);
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (is_name("or")) {
      const int line = next().line;
      left = binary(ExprKind::kOr, std::move(left), parse_and(), line);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (is_name("and")) {
      const int line = next().line;
      left = binary(ExprKind::kAnd, std::move(left), parse_not(), line);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      Depth depth(*this);
      auto e = make(ExprKind::kNot, next().line);
      e->operand = parse_not();
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const int line = cur().line;
    ExprPtr first = parse_math1();
    std::vector<std::string> ops;
    std::vector<ExprPtr> operands;
    while (true) {
      static const char* kCompareOps[] = {"==", "!=", "<", "<=", ">", ">="};
      std::string op;
      for (const char* c : kCompareOps)
        if (is_op(c)) op = c;
      if (!op.empty()) {
        next();
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && peek().type == Tok::kName && peek().text == "in") {
        next();
        next();
        op = "notin";
      } else {
        break;
      }
      ops.push_back(op);
      operands.push_back(parse_math1());
    }
    if (ops.empty()) return first;
    auto e = make(ExprKind::kCompare, line);
    e->args.push_back(std::move(first));
    for (auto& operand : operands) e->args.push_back(std::move(operand));
    e->ops = std::move(ops);
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Token op = next();
      left = binary(ExprKind::kBinary, std::move(left), parse_concat(), op.line, op.text);
    }
    return left;
  }

  ExprPtr parse_concat() {
    const int line = cur().line;
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto e = make(ExprKind::kConcat, line);
    e->args.push_back(std::move(first));
    while (is_op("~")) {
      next();
      e->args.push_back(parse_math2());
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token op = next();
      left = binary(ExprKind::kBinary, std::move(left), parse_pow(), op.line, op.text);
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (is_op("**")) {
      const Token op = next();
      left = binary(ExprKind::kBinary, std::move(left), parse_unary(true), op.line, op.text);
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    Depth depth(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      const Token op = next();
      node = make(op.text == "-" ? ExprKind::kNeg : ExprKind::kPos, op.line);
      node->operand = parse_unary(false);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    Depth depth(*this);
    const Token& t = cur();
    if (t.type == Tok::kName) {
      auto e = make(ExprKind::kConst, t.line);
      if (t.text == "true" || t.text == "True") e->value = Value::from_bool(true);
      else if (t.text == "false" || t.text == "False") e->value = Value::from_bool(false);
      else if (t.text == "none" || t.text == "None") e->value = Value::none();
      else {
        e->kind = ExprKind::kName;
        e->name = t.text;
      }
      next();
      return e;
    }
    if (t.type == Tok::kString) {
      auto e = make(ExprKind::kConst, t.line);
      std::string text;
      while (cur().type == Tok::kString) text += next().text;  // adjacent literals join
      e->value = Value::from_string(std::move(text));
      return e;
    }
    if (t.type == Tok::kInt || t.type == Tok::kFloat) {
      auto e = make(ExprKind::kConst, t.line);
      e->value = t.type == Tok::kInt ? Value::from_int(t.int_value) : Value::from_float(t.float_value);
      next();
      return e;
    }
    if (is_op("(")) {
      next();
      ExprPtr e = parse_tuple(true, true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      auto e = make(ExprKind::kList, next().line);
      while (!is_op("]")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("]")) break;
        e->args.push_back(parse_expression());
      }
      next();
      return e;
    }
    if (is_op("{")) {
      auto e = make(ExprKind::kDict, next().line);
      while (!is_op("}")) {
        if (!e->args.empty()) expect_op(",");
        if (is_op("}")) break;
        e->args.push_back(parse_expression());
        expect_op(":");
        e->args.push_back(parse_expression());
      }
      next();
      return e;
    }
    unexpected();
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        const int line = next().line;
        if (cur().type == Tok::kName) {
          auto e = make(ExprKind::kAttr, line);
          e->operand = std::move(node);
          e->name = next().text;
          node = std::move(e);
        } else if (cur().type == Tok::kInt) {
          auto e = make(ExprKind::kItem, line);
          e->operand = std::move(node);
          auto index = make(ExprKind::kConst, line);
          index->value = Value::from_int(next().int_value);
          e->args.push_back(std::move(index));
          node = std::move(e);
        } else {
          unexpected();
        }
      } else if (is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const int line = next().line;  // '['
    ExprPtr start;
    if (!is_op(":")) {
      start = parse_expression();
      if (is_op("]")) {
        next();
        auto e = make(ExprKind::kItem, line);
        e->operand = std::move(node);
        e->args.push_back(std::move(start));
        return e;
      }
      if (is_op(","))
        fail(ErrorCode::kUnsupported, "line {}: tuple subscripts are outside the supported template subset", line);
    }
    expect_op(":");
    auto e = make(ExprKind::kSlice, line);
    e->operand = std::move(node);
    e->args.push_back(std::move(start));
    e->args.push_back(is_op("]") || is_op(":") ? nullptr : parse_expression());
    if (is_op(":")) {
      next();
      e->args.push_back(is_op("]") ? nullptr : parse_expression());
    } else {
      e->args.push_back(nullptr);
    }
    expect_op("]");
    return e;
  }

  void parse_call_args(Expr& e) {
    expect_op("(");
    while (!is_op(")")) {
      if (!e.args.empty() || !e.kwargs.empty()) expect_op(",");
      if (is_op(")")) break;
      if (is_op("*") || is_op("**"))
        fail(ErrorCode::kUnsupported, "line {}: *args and **kwargs are outside the supported template subset",
             cur().line);
      if (cur().type == Tok::kName && peek().type == Tok::kOp && peek().text == "=") {
        std::string key = next().text;
        next();
        e.kwargs.emplace_back(std::move(key), parse_expression());
      } else {
        if (!e.kwargs.empty())
          fail(ErrorCode::kBadFile, "line {}: a positional argument follows a keyword argument", cur().line);
        e.args.push_back(parse_expression());
      }
    }
    next();
  }

  ExprPtr parse_call(ExprPtr node) {
    auto e = make(ExprKind::kCall, cur().line);
    e->operand = std::move(node);
    parse_call_args(*e);
    return e;
  }

  std::string dotted_name() {
    std::string name = expect_identifier();
    while (is_op(".")) {
      next();
      name += "." + expect_identifier();
    }
    return name;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        const int line = next().line;
        auto e = make(ExprKind::kFilter, line);
        e->operand = std::move(node);
        e->name = dotted_name();
        if (is_op("(")) parse_call_args(*e);
        node = std::move(e);
      } else if (is_name("is")) {
        const int line = next().line;
        auto e = make(ExprKind::kTest, line);
        e->operand = std::move(node);
        if (is_name("not")) {
          next();
          e->negated = true;
        }
        e->name = dotted_name();
        const Tok type = cur().type;
        if (is_op("(")) {
          parse_call_args(*e);
        } else if ((type == Tok::kName || type == Tok::kString || type == Tok::kInt || type == Tok::kFloat ||
                    is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) fail(ErrorCode::kBadFile, "line {}: you cannot chain multiple tests with is", line);
          e->args.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(e);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(std::string_view source) { return Parser(lex(source)).parse_template(); }

}  // namespace vkinfer::jinja
