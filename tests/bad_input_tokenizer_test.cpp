// Bad-input matrix, part 2: broken tokenizer files, in both layouts
// (tokenizer.json and the classic vocab.json + merges.txt / vocab.txt), run
// through `vkinfer tokenize` and `vkinfer generate` on copies of the tiny
// test models. Each must fail with one clean line naming the file.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <tuple>

#include "tests/support/cli_runner.h"
#include "tests/support/model_fixture.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CliResult;
using testing::IsCleanError;
using testing::run_vkinfer;

class BadTokenizer : public ::testing::Test {
 protected:
  fs::path copy(const std::string& name) { return testing::copy_model(name, temp_.path()); }

  static CliResult tokenize(const fs::path& model) {
    return run_vkinfer({"tokenize", "--model", model.string(), "--text", "Hello world"});
  }

  testing::TempDir temp_;
};

TEST_F(BadTokenizer, UntouchedCopiesTokenize) {
  for (const char* name : {"gpt2", "llama", "bert"}) {
    const CliResult result = tokenize(copy(name));
    EXPECT_TRUE(result.exited() && result.exit_code == 0) << result.describe();
  }
}

TEST_F(BadTokenizer, AllFilesMissing) {
  const fs::path model = copy("gpt2");
  for (const char* f : {"tokenizer.json", "vocab.json", "merges.txt"}) fs::remove(model / f);
  EXPECT_CLEAN_ERROR(tokenize(model), {model.string(), "no tokenizer.json"});
  EXPECT_CLEAN_ERROR(run_vkinfer({"generate", "--model", model.string(), "--prompt", "Hello"}),
                     {model.string(), "no tokenizer.json"});
}

TEST_F(BadTokenizer, ClassicMergesMissing) {
  const fs::path model = copy("gpt2");
  fs::remove(model / "tokenizer.json");
  fs::remove(model / "merges.txt");
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "merges.txt").string(), "not found"});
}

TEST_F(BadTokenizer, TokenizerJsonMalformed) {
  const fs::path model = copy("gpt2");
  const std::string text = testing::read_bytes(model / "tokenizer.json");
  testing::write_bytes(model / "tokenizer.json", text.substr(0, text.size() / 3));
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), "malformed JSON"});
}

TEST_F(BadTokenizer, TokenizerJsonWrongFieldType) {
  const fs::path model = copy("gpt2");
  testing::edit_json(model / "tokenizer.json", [](json& t) { t["model"]["merges"] = "a b"; });
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), "merges"});
}

// Found by tokenizer_json_wordpiece_fuzzer: a field of an unexpected JSON
// type deep in the file escaped as a bare nlohmann exception.
TEST_F(BadTokenizer, TokenizerJsonFieldOfUnexpectedTypeDeepInside) {
  const fs::path model = copy("bert");
  testing::edit_json(model / "tokenizer.json",
                     [](json& t) { t["post_processor"]["single"][0]["SpecialToken"]["type_id"] = "x"; });
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), "unexpected type"});
}

// Found by tokenizer_json_bpe_fuzzer: one id of 2e9 sized a 64 GiB table.
TEST_F(BadTokenizer, VocabIdFarPastTheVocabulary) {
  const fs::path model = copy("gpt2");
  testing::edit_json(model / "tokenizer.json", [](json& t) { t["model"]["vocab"]["zz"] = 2000000000; });
  const CliResult result = tokenize(model);
  EXPECT_CLEAN_ERROR(result, {(model / "tokenizer.json").string(), "2000000000"});
  fs::remove(model / "tokenizer.json");
  testing::edit_json(model / "vocab.json", [](json& v) { v["zz"] = 4294967296; });  // would wrap to 0 as int32
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "vocab.json").string(), "'zz'"});
}

TEST_F(BadTokenizer, TokenizerConfigMalformed) {
  const fs::path model = copy("llama");
  testing::write_bytes(model / "tokenizer_config.json", "{\"add_bos_token\": tru");
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer_config.json").string(), "malformed JSON"});
}

TEST_F(BadTokenizer, EmptyVocabInTokenizerJson) {
  for (const char* name : {"gpt2", "llama", "bert"}) {
    const fs::path model = copy(name);
    testing::edit_json(model / "tokenizer.json", [](json& t) { t["model"]["vocab"] = json::object(); });
    EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), "empty"}) << name;
  }
}

TEST_F(BadTokenizer, EmptyVocabJson) {
  const fs::path model = copy("gpt2");
  fs::remove(model / "tokenizer.json");
  testing::write_bytes(model / "vocab.json", "{}");
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "vocab.json").string(), "empty"});
}

TEST_F(BadTokenizer, EmptyVocabTxt) {
  const fs::path model = copy("bert");
  fs::remove(model / "tokenizer.json");
  testing::write_bytes(model / "vocab.txt", "");
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "vocab.txt").string(), "empty"});
}

TEST_F(BadTokenizer, MergeNamesUnknownTokenInTokenizerJson) {
  for (const char* name : {"gpt2", "llama"}) {
    const fs::path model = copy(name);
    testing::edit_json(model / "tokenizer.json", [](json& t) {
      json& merges = t["model"]["merges"];
      // Both spellings exist in the wild ("a b" and ["a", "b"]); keep the file's.
      if (!merges.empty() && merges[0].is_array()) merges.push_back({"zzqq", "xxjj"});
      else merges.push_back("zzqq xxjj");
    });
    EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), "zzqq", "not in"}) << name;
  }
}

TEST_F(BadTokenizer, MergeNamesUnknownTokenInMergesTxt) {
  const fs::path model = copy("gpt2");
  fs::remove(model / "tokenizer.json");
  testing::write_bytes(model / "merges.txt", testing::read_bytes(model / "merges.txt") + "zzqq xxjj\n");
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "merges.txt").string(), "zzqq", "not in"});
}

TEST_F(BadTokenizer, MalformedMergesLine) {
  const fs::path model = copy("gpt2");
  fs::remove(model / "tokenizer.json");
  testing::write_bytes(model / "merges.txt", "#version: 0.2\na b c\n");
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "merges.txt").string(), "line 2"});
}

TEST_F(BadTokenizer, UnsupportedTokenizerModel) {
  const fs::path model = copy("gpt2");
  testing::edit_json(model / "tokenizer.json", [](json& t) { t["model"]["type"] = "Unigram"; });
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), "Unigram"});
}

// The pipeline's components: each malformed or unknown one is refused at
// load with one line naming tokenizer.json and the component.
TEST_F(BadTokenizer, RegexOnigurumaRejects) {
  const fs::path model = copy("gpt2");
  testing::edit_json(model / "tokenizer.json", [](json& t) {
    t["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(?<oops"}}}, {"behavior", "Isolated"}, {"invert", false}};
  });
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), "(?<oops", "does not compile"});
  testing::edit_json(model / "tokenizer.json", [](json& t) {
    t["normalizer"] = {{"type", "Replace"}, {"pattern", {{"Regex", "[z-a]"}}}, {"content", ""}};
  });
  EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), "[z-a]", "normalizer Replace"});
}

// A pattern that backtracks exponentially on a long input gives up within
// Oniguruma's retry budget, with one error naming the pattern, not a hang.
TEST_F(BadTokenizer, CatastrophicRegexIsBounded) {
  const fs::path model = copy("gpt2");
  const std::string pattern = "(\\w+\\s?)+$";
  testing::edit_json(model / "tokenizer.json", [&](json& t) {
    t["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {
        {{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  });
  std::string text;
  for (int i = 0; i < 400; ++i) text += "word ";
  text += "!";
  const auto start = std::chrono::steady_clock::now();
  const CliResult result = run_vkinfer({"tokenize", "--model", model.string(), "--text", text});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_CLEAN_ERROR(result, {(model / "tokenizer.json").string(), pattern, "backtracks too much"});
  EXPECT_LT(seconds, 30.0) << "the search budget should stop it in about a second";
}

TEST_F(BadTokenizer, UnknownComponentTypesAreNamed) {
  const std::pair<const char*, json> cases[] = {
      {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {{{"type", "ByteLevel"}}, {{"type", "UnicodeScripts2"}}}}}},
      {"normalizer", {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}}},
      {"decoder", {{"type", "CTC2"}}},
      {"post_processor", {{"type", "Sequence"}, {"processors", {{{"type", "Frobnicate"}}}}}}};
  for (const auto& [field, value] : cases) {
    const fs::path model = copy("gpt2");
    testing::edit_json(model / "tokenizer.json", [&](json& t) { t[field] = value; });
    const std::string type = value.contains("type") && value["type"] != "Sequence" ? value["type"].get<std::string>()
                             : field == std::string("pre_tokenizer") ? "UnicodeScripts2" : "Frobnicate";
    EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), field, type}) << field;
    fs::remove_all(model);
  }
}

TEST_F(BadTokenizer, MalformedComponentFieldsAreNamed) {
  const std::tuple<const char*, json, const char*> cases[] = {
      {"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "x"}}}, {"behavior", "Sideways"}, {"invert", false}}, "Sideways"},
      {"pre_tokenizer", {{"type", "Split"}, {"pattern", "x"}, {"behavior", "Isolated"}}, "pattern"},
      {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "__"}, {"prepend_scheme", "always"}}, "replacement"},
      {"pre_tokenizer", {{"type", "Metaspace"}, {"prepend_scheme", "sometimes"}}, "sometimes"},
      {"pre_tokenizer", {{"type", "Digits"}, {"individual_digits", "yes"}}, "individual_digits"},
      {"decoder", {{"type", "Strip"}, {"content", " "}, {"start", "one"}, {"stop", 0}}, "start"},
      {"decoder", {{"type", "Sequence"}, {"decoders", "ByteLevel"}}, "decoders"},
      {"normalizer", {{"type", "BertNormalizer"}, {"lowercase", 3}}, "lowercase"}};
  for (const auto& [field, value, needle] : cases) {
    const fs::path model = copy("gpt2");
    testing::edit_json(model / "tokenizer.json", [&](json& t) { t[field] = value; });
    EXPECT_CLEAN_ERROR(tokenize(model), {(model / "tokenizer.json").string(), needle}) << value.dump();
    fs::remove_all(model);
  }
}

}  // namespace
}  // namespace vkinfer
