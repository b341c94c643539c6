// `vkinfer generate --chat` through the real binary. End to end against
// transformers 4.40.2 (tests/data/chat/make_chat_goldens.py, "e2e"): the tiny
// Llama with a chat template added gives apply_chat_template's prompt ids and
// greedy generate()'s new ids, from --system/--prompt and from --messages;
// with a generation_config.json listing two eos ids it stops where
// transformers stops. Then the bad-input contract (one "vkinfer: error:"
// line, nothing on stdout) for bad templates, runaway templates, bad
// --messages files, flag mistakes and a bad generation_config.json.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/core/error.h"
#include "engine/model/generation_config.h"
#include "tests/support/cli_runner.h"
#include "tests/support/expect_error.h"
#include "tests/support/gpu.h"
#include "tests/support/model_fixture.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CliResult;
using testing::IsCleanError;
using testing::run_vkinfer;

const json& e2e() {
  static const json g =
      json::parse(testing::read_bytes(fs::path(testing::test_data_dir()) / "chat" / "chat_goldens.json"))["e2e"];
  return g;
}

// The tiny Llama with `chat_template` in its tokenizer_config.json, as the
// golden script built it.
fs::path chat_model(const testing::TempDir& dir, const std::string& chat_template) {
  const fs::path model = testing::copy_model("llama", dir.path());
  testing::edit_json(model / "tokenizer_config.json", [&](json& config) { config["chat_template"] = chat_template; });
  return model;
}

CliResult chat(const fs::path& model, std::vector<std::string> extra) {
  std::vector<std::string> args = {"generate", "--model", model.string(), "--chat", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_vkinfer(args);
}

std::vector<std::string> turns() {
  const json& messages = e2e()["messages"];
  EXPECT_EQ(messages.size(), 2u);
  return {"--system", messages[0]["content"], "--prompt", messages[1]["content"], "--max-new-tokens",
          std::to_string(e2e()["max_new_tokens"].get<int>())};
}

TEST(ChatGenerate, GreedyTokensEqualTransformers) {
  testing::TempDir dir;
  const fs::path model = chat_model(dir, e2e()["template"]);
  const CliResult result = chat(model, turns());
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  const json out = json::parse(result.out);
  EXPECT_EQ(out["prompt_ids"], e2e()["prompt_ids"]);
  EXPECT_EQ(out["new_ids"], e2e()["new_ids"]);
  EXPECT_EQ(out["finish_reason"], "length");

  // The same conversation as a --messages file.
  testing::write_bytes(dir / "messages.json", e2e()["messages"].dump());
  const CliResult from_file = chat(model, {"--messages", (dir / "messages.json").string(), "--max-new-tokens",
                                           std::to_string(e2e()["max_new_tokens"].get<int>())});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.describe();
  EXPECT_EQ(json::parse(from_file.out)["new_ids"], e2e()["new_ids"]);
}

TEST(ChatGenerate, StopsAtEitherGenerationConfigEos) {
  testing::TempDir dir;
  const fs::path model = chat_model(dir, e2e()["template"]);
  const int second = e2e()["second_eos"];
  // generation_config.json's list replaces config.json's single eos (2); the
  // second id is one the greedy output reaches part-way.
  testing::edit_json(model / "generation_config.json", [&](json& g) { g["eos_token_id"] = {2, second}; });
  const CliResult result = chat(model, turns());
  ASSERT_EQ(result.exit_code, 0) << result.describe();
  const json out = json::parse(result.out);
  EXPECT_EQ(out["new_ids"], e2e()["stopped_ids"]);
  EXPECT_LT(out["new_ids"].size(), e2e()["new_ids"].size());
  EXPECT_EQ(out["finish_reason"], "eos");
  EXPECT_EQ(generation_eos_ids(model, 347), (std::vector<int>{2, second}));
}

TEST(ChatGenerate, GenerationConfigIsChecked) {
  testing::TempDir dir;
  const fs::path model = testing::copy_model("llama", dir.path());
  auto with_eos = [&](const json& eos) {
    testing::edit_json(model / "generation_config.json", [&](json& g) { g["eos_token_id"] = eos; });
  };
  with_eos(nullptr);
  EXPECT_EQ(generation_eos_ids(model, 347), std::vector<int>{});
  with_eos(json::array({1, 5}));
  EXPECT_EQ(generation_eos_ids(model, 347), (std::vector<int>{1, 5}));
  testing::write_bytes(model / "generation_config.json", "{}");
  EXPECT_FALSE(generation_eos_ids(model, 347));
  for (const json& bad : {json(347), json("2"), json::array({2, -1}), json(1.5)}) {
    with_eos(bad);
    testing::expect_error([&] { generation_eos_ids(model, 347); }, ErrorCode::kBadConfig,
                          {"generation_config.json", "eos_token_id"});
  }
  with_eos(json::array({2, 5000}));
  EXPECT_TRUE(IsCleanError(run_vkinfer({"generate", "--model", model.string(), "--prompt", "hi"}),
                           {"generation_config.json", "5000", "outside the vocabulary"}));
  testing::write_bytes(model / "generation_config.json", "{\"eos_token_id\": [2,");
  EXPECT_TRUE(IsCleanError(run_vkinfer({"generate", "--model", model.string(), "--prompt", "hi"}),
                           {"generation_config.json", "malformed JSON"}));
}

TEST(ChatGenerate, BadTemplatesAreCleanErrors) {
  struct Case {
    std::string template_source;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {"{% macro turn(m) %}{{ m }}{% endmacro %}{{ turn(messages[0]) }}", {"tokenizer_config.json", "'macro'", "subset"}},
      {"{% for m in messages %}{% break %}{% endfor %}", {"unknown tag 'break'"}},
      {"{{ messages|wordcount }}", {"'wordcount' filter"}},
      {"{% if messages %}", {"endif"}},
      // Runaway templates stop at the render limits.
      {"{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", {"loop iterations"}},
      {"{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}",
       {"max_output_bytes"}},
      // The template refuses the conversation (Gemma's rule against system turns).
      {"{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}",
       {"refused the conversation", "System role not supported"}},
      {"{{ messages[0].nothing.deeper }}", {"'nothing' is undefined"}},
  };
  for (const Case& c : cases) {
    testing::TempDir dir;
    const fs::path model = chat_model(dir, c.template_source);
    EXPECT_TRUE(IsCleanError(chat(model, {"--system", "s", "--prompt", "p"}), c.needles)) << c.template_source;
  }
  // A chat_template.jinja file is found too, and its errors name it.
  testing::TempDir dir;
  const fs::path model = testing::copy_model("llama", dir.path());
  testing::write_bytes(model / "chat_template.jinja", "{{ 1 +* 2 }}");
  EXPECT_TRUE(IsCleanError(chat(model, {"--prompt", "p"}), {"chat_template.jinja", "line 1", "unexpected '*'"}));
}

TEST(ChatGenerate, BadMessagesAndFlagsAreCleanErrors) {
  testing::TempDir dir;
  const fs::path model = chat_model(dir, e2e()["template"]);
  auto messages_file = [&](const std::string& text) {
    testing::write_bytes(dir / "m.json", text);
    return chat(model, {"--messages", (dir / "m.json").string()});
  };
  EXPECT_TRUE(IsCleanError(messages_file(R"({"role": "user", "content": "x"})"), {"m.json", "expected a JSON list"}));
  EXPECT_TRUE(IsCleanError(messages_file(R"([])"), {"m.json", "no message"}));
  EXPECT_TRUE(IsCleanError(messages_file(R"(["hello"])"), {"m.json", "message 0"}));
  EXPECT_TRUE(IsCleanError(messages_file(R"([{"role": "user", "content": "x"}, {"role": "assistant"}])"),
                           {"m.json", "message 1", "\"content\""}));
  EXPECT_TRUE(IsCleanError(messages_file(R"([{"role": 1, "content": "x"}])"), {"m.json", "\"role\""}));
  EXPECT_TRUE(IsCleanError(messages_file(R"([{"role": "user", "content": ["x"]}])"), {"m.json", "\"content\""}));
  EXPECT_TRUE(IsCleanError(messages_file("[{\"role\": "), {"m.json", "malformed JSON"}));
  EXPECT_TRUE(IsCleanError(chat(model, {"--messages", (dir / "missing.json").string()}), {"missing.json", "cannot open"}));

  // Flags that do not fit together.
  EXPECT_TRUE(IsCleanError(chat(model, {}), {"--chat needs the user's turn"}));
  EXPECT_TRUE(IsCleanError(chat(model, {"--messages", (dir / "m.json").string(), "--prompt", "x"}), {"drop --prompt"}));
  EXPECT_TRUE(IsCleanError(chat(model, {"--prompt-ids", "1,2"}), {"--prompt-ids"}));
  EXPECT_TRUE(IsCleanError(run_vkinfer({"generate", "--model", model.string(), "--system", "s", "--prompt", "p"}),
                           {"--system and --messages need --chat"}));
  // A folder without a chat template.
  EXPECT_TRUE(IsCleanError(chat(testing::good_model("llama"), {"--prompt", "hi"}), {"no chat template", "HINT"}));
}

}  // namespace
}  // namespace vkinfer
