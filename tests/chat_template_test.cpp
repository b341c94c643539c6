// Chat templates against transformers 4.40.2 / jinja2 3.1
// (tests/data/chat/make_chat_goldens.py): every real template in
// tests/data/chat/templates x every conversation renders to the exact
// string apply_chat_template gives, or fails where it fails (with
// raise_exception's message word for word); the feature templates cover the
// engine's constructs one by one; then finding the template in a folder,
// constructs outside the subset, and the rendering bounds.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/text/chat_template.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"
#include "tests/support/temp_dir.h"

namespace vkinfer {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

fs::path chat_data() { return fs::path(testing::test_data_dir()) / "chat"; }

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// ordered_json: the conversations' keys keep Python's order.
const json& goldens() {
  static const json g = json::parse(read_file(chat_data() / "chat_goldens.json"));
  return g;
}

// The outcome of one render, as the goldens record it.
json outcome(const std::function<std::string()>& render) {
  try {
    return {{"output", render()}};
  } catch (const jinja::TemplateException& e) {
    return {{"raise_exception", e.message()}};
  } catch (const Error& e) {
    return {{"error", e.what()}};
  }
}

void expect_outcome(const json& golden, const json& got) {
  if (golden.contains("output")) {
    ASSERT_TRUE(got.contains("output")) << "expected output " << golden["output"].dump() << ", got " << got.dump();
    EXPECT_EQ(got["output"].get<std::string>(), golden["output"].get<std::string>());
  } else if (golden.contains("raise_exception")) {
    EXPECT_EQ(got.value("raise_exception", std::string("<no raise_exception: ") + got.dump() + ">"),
              golden["raise_exception"].get<std::string>());
  } else {
    // transformers failed otherwise (undefined value, type error): any error.
    EXPECT_TRUE(got.contains("error")) << "transformers failed with " << golden["error"] << ", vkinfer gave " << got.dump();
  }
}

TEST(ChatTemplate, RealTemplatesMatchTransformers) {
  const nlohmann::json special = ChatTemplate::special_tokens_of(testing::model_dir("llama"));
  EXPECT_EQ(json(special), goldens()["special_tokens"]);
  std::map<std::string, std::unique_ptr<ChatTemplate>> templates;
  size_t cases = 0;
  for (const json& c : goldens()["cases"]) {
    const std::string name = c["template"];
    if (!templates.count(name)) {
      const fs::path path = chat_data() / "templates" / (name + ".jinja");
      templates[name] = std::make_unique<ChatTemplate>(read_file(path), path.string(), special);
    }
    const json& messages = goldens()["conversations"][c["conversation"].get<std::string>()];
    const json extra = c.value("extra", json::object());
    SCOPED_TRACE(name + " x " + c["conversation"].get<std::string>() +
                 (c["add_generation_prompt"].get<bool>() ? " (add_generation_prompt)" : ""));
    expect_outcome(c, outcome([&] { return templates[name]->render(messages, c["add_generation_prompt"], extra); }));
    ++cases;
  }
  EXPECT_GE(templates.size(), 16u);  // Llama 3/3.2, Qwen2, Mistral x3, Gemma, Phi-3, ChatML, Zephyr...
  EXPECT_GT(cases, 300u);
}

TEST(ChatTemplate, FeaturesMatchJinja2) {
  for (const json& f : goldens()["features"]) {
    SCOPED_TRACE(f["name"].get<std::string>() + ": " + f["source"].get<std::string>());
    const jinja::Dict context = *jinja::from_json(f["context"]).entries;
    expect_outcome(f, outcome([&] { return jinja::Template(f["source"].get<std::string>()).render(context); }));
  }
}

// Errors name the construct and where it is.
TEST(ChatTemplate, ConstructsOutsideTheSubsetAreNamed) {
  auto parse = [](const std::string& source) { jinja::Template t(source); };
  testing::expect_error([&] { parse("x\n{% macro m() %}{% endmacro %}"); }, ErrorCode::kUnsupported,
                        {"line 2", "'macro'", "outside the supported template subset"});
  testing::expect_error([&] { parse("{% for i in [1] %}{% break %}{% endfor %}"); }, ErrorCode::kBadFile,
                        {"unknown tag 'break'"});
  testing::expect_error([&] { parse("{{ 'a b'|wordcount }}"); }, ErrorCode::kUnsupported, {"'wordcount' filter"});
  testing::expect_error([&] { parse("{{ x|nope }}"); }, ErrorCode::kBadFile, {"no filter named 'nope'"});
  testing::expect_error([&] { parse("{{ x is nope }}"); }, ErrorCode::kBadFile, {"no test named 'nope'"});
  testing::expect_error([&] { parse("{% include 'x' %}"); }, ErrorCode::kUnsupported, {"'include'"});
  testing::expect_error([&] { parse("{{ f(*args) }}"); }, ErrorCode::kUnsupported, {"*args"});
  testing::expect_error([&] { parse("{% for x in y recursive %}{% endfor %}"); }, ErrorCode::kUnsupported, {"recursive"});
  testing::expect_error([&] { parse("{{ 'a\n' }"); }, ErrorCode::kBadFile, {"line 2", "unexpected '}'"});
  testing::expect_error([&] { parse("{{ 'abc }}"); }, ErrorCode::kBadFile, {"unterminated string"});
  testing::expect_error([&] { parse("{# never closed"); }, ErrorCode::kBadFile, {"comment"});
  testing::expect_error([&] { parse("{% if x %}"); }, ErrorCode::kBadFile, {"endif"});
  testing::expect_error([&] { parse("{{ 99999999999999999999 }}"); }, ErrorCode::kBadFile, {"too large"});
  jinja::Template format("{{ '%s' % 'x' }}");
  testing::expect_error([&] { format.render({}); }, ErrorCode::kUnsupported, {"'%'"});
  jinja::Template method("{{ 'x'.zfill(3) }}");
  testing::expect_error([&] { method.render({}); }, ErrorCode::kUnsupported, {"'zfill'"});
}

TEST(ChatTemplate, RenderingIsBounded) {
  auto render = [](const std::string& source, jinja::Limits limits = {}) { return jinja::Template(source).render({}, limits); };
  // A loop that would run 10^10 times stops at the iteration limit.
  testing::expect_error([&] { render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"); },
                        ErrorCode::kInvalidArgument, {"max_loop_iterations", "1000000"});
  // Doubling a string 100 times stops at the size limit, long before memory runs out.
  testing::expect_error(
      [&] { render("{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"); },
      ErrorCode::kInvalidArgument, {"max_output_bytes"});
  testing::expect_error([&] { render("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"); },
                        ErrorCode::kInvalidArgument, {"max_output_bytes"});
  testing::expect_error([&] { render("{{ 'ab' * 1000000000000 }}"); }, ErrorCode::kInvalidArgument, {"max_output_bytes"});
  testing::expect_error([&] { render("{{ [1, 2] * 1000000000000 }}"); }, ErrorCode::kInvalidArgument, {"max_output_bytes"});
  testing::expect_error([&] { render("{{ 2 ** 64 }}"); }, ErrorCode::kInvalidArgument, {"integer overflow"});
  // Limits are per render and can be set lower.
  jinja::Limits small;
  small.max_output_bytes = 10;
  small.max_loop_iterations = 3;
  EXPECT_EQ(render("{% for i in range(3) %}{{ i }}{% endfor %}", small), "012");
  testing::expect_error([&] { render("{% for i in range(4) %}{% endfor %}", small); }, ErrorCode::kInvalidArgument,
                        {"more than 3 loop iterations"});
  testing::expect_error([&] { render("{{ 'x' * 11 }}", small); }, ErrorCode::kInvalidArgument, {"10 bytes"});
  // Nesting deeper than kMaxNesting is refused when parsing, not recursed into.
  testing::expect_error([&] { render("{{ " + std::string(1000, '(') + "1" + std::string(1000, ')') + " }}"); },
                        ErrorCode::kBadFile, {"nests deeper"});
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += "{% if true %}";
  testing::expect_error([&] { render(deep); }, ErrorCode::kBadFile, {"nests deeper"});
}

TEST(ChatTemplate, FoundInTheModelFolder) {
  const fs::path llama = testing::model_dir("llama");
  auto folder_with = [&](testing::TempDir& dir, const nlohmann::json& config_additions) {
    nlohmann::json config = testing::load_json_file((llama / "tokenizer_config.json").string());
    config.update(config_additions);
    dir.write("tokenizer_config.json", config.dump());
    fs::copy_file(llama / "special_tokens_map.json", dir.path() / "special_tokens_map.json");
  };
  const json user = json::array({{{"role", "user"}, {"content", "hi"}}});
  {
    testing::TempDir dir;
    folder_with(dir, {{"chat_template", "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}});
    auto t = ChatTemplate::load(dir.path());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->render(user, true), "<s>hi</s>");
    EXPECT_NE(t->origin().find("tokenizer_config.json"), std::string::npos);
  }
  {  // A list of named templates: "default" is rendered, as transformers 4.40 does.
    testing::TempDir dir;
    folder_with(dir, {{"chat_template", json::array({{{"name", "tool_use"}, {"template", "T"}},
                                                     {{"name", "default"}, {"template", "D{{ messages|length }}"}}})}});
    EXPECT_EQ(ChatTemplate::load(dir.path())->render(user, true), "D1");
  }
  {
    testing::TempDir dir;
    folder_with(dir, {{"chat_template", json::array({{{"name", "a"}, {"template", "A"}}, {{"name", "b"}, {"template", "B"}}})}});
    testing::expect_error([&] { ChatTemplate::load(dir.path()); }, ErrorCode::kBadFile, {"none named \"default\"", "a, b"});
  }
  {  // chat_template.jinja, and AddedToken objects / special_tokens_map.json for the tokens.
    testing::TempDir dir;
    dir.write("tokenizer_config.json",
              json({{"bos_token", {{"content", "<B>"}, {"lstrip", false}}}, {"pad_token", ""}}).dump());
    dir.write("special_tokens_map.json", json({{"eos_token", "<E>"}, {"additional_special_tokens", {"<x>", "<y>"}}}).dump());
    dir.write("chat_template.jinja", "{{ bos_token }}{{ eos_token }}{{ pad_token is defined }}{{ additional_special_tokens }}\n");
    EXPECT_EQ(ChatTemplate::load(dir.path())->render(user, false), "<B><E>False['<x>', '<y>']");
  }
  {
    testing::TempDir dir;
    dir.write("chat_template.json", json({{"chat_template", "J{{ add_generation_prompt }}"}}).dump());
    EXPECT_EQ(ChatTemplate::load(dir.path())->render(user, true), "JTrue");
  }
  {
    testing::TempDir dir;
    folder_with(dir, json::object());
    EXPECT_FALSE(ChatTemplate::load(dir.path()));
    dir.write("tokenizer_config.json", "{not json");
    testing::expect_error([&] { ChatTemplate::load(dir.path()); }, ErrorCode::kBadFile, {"tokenizer_config.json"});
  }
  {  // A template that does not parse is refused at load, naming the file.
    testing::TempDir dir;
    dir.write("chat_template.jinja", "{% for %}");
    testing::expect_error([&] { ChatTemplate::load(dir.path()); }, ErrorCode::kBadFile, {"chat_template.jinja", "line 1"});
  }
}

TEST(ChatTemplate, RaiseExceptionAndEmptyConversations) {
  const ChatTemplate t("{{ raise_exception('Roles must alternate') }}", "test", nlohmann::json::object());
  try {
    t.render(json::array({{{"role", "user"}, {"content", "x"}}}), true);
    FAIL() << "expected raise_exception";
  } catch (const jinja::TemplateException& e) {
    EXPECT_EQ(e.message(), "Roles must alternate");
    EXPECT_NE(std::string(e.what()).find("the chat template (test) refused the conversation: Roles must alternate"),
              std::string::npos);
  }
  testing::expect_error([&] { t.render(json::array(), true); }, ErrorCode::kInvalidArgument, {"no message"});
}

TEST(ChatTemplate, ValidatesMessages) {
  EXPECT_NO_THROW(validate_messages(json::parse(R"([{"role": "user", "content": "x", "name": "extra"}])"), "m.json"));
  testing::expect_error([] { validate_messages(json::object(), "m.json"); }, ErrorCode::kInvalidArgument,
                        {"m.json", "expected a JSON list"});
  testing::expect_error([] { validate_messages(json::array(), "m.json"); }, ErrorCode::kInvalidArgument, {"no message"});
  testing::expect_error([] { validate_messages(json::parse(R"(["hi"])"), "m.json"); }, ErrorCode::kInvalidArgument,
                        {"message 0"});
  testing::expect_error([] { validate_messages(json::parse(R"([{"role": "user", "content": "a"}, {"content": "b"}])"), "m.json"); },
                        ErrorCode::kInvalidArgument, {"message 1", "\"role\""});
  testing::expect_error([] { validate_messages(json::parse(R"([{"role": "user", "content": 3}])"), "m.json"); },
                        ErrorCode::kInvalidArgument, {"message 0", "\"content\""});
}

}  // namespace
}  // namespace vkinfer
