// `vkinfer classify` and `vkinfer tokenize` end to end: the real binary
// (VKINFER_BIN) on the tiny committed BERT, checked against transformers'
// goldens, plus every input error path.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unistd.h>

#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_data_dir;

// Same bound as the encoder test: fp32 vs transformers, logits O(1).
constexpr double kAtol = 1e-4;

struct CliRun {
  int code = -1;
  std::string out, err;
};

std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

class ClassifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("VKINFER_BIN");
    if (!bin) GTEST_SKIP() << "VKINFER_BIN is not set (run through ctest)";
    bin_ = bin;
    dir_ = std::filesystem::temp_directory_path() /
           ("vkinfer_classify_cli_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ifstream file(test_data_dir() + "/golden/bert.json");
    golden_ = nlohmann::json::parse(file);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  CliRun run(const std::vector<std::string>& args, const std::string& env = "") {
    std::string command = env + " " + quote(bin_);
    for (const auto& arg : args) command += " " + quote(arg);
    const auto out = dir_ / "stdout", err = dir_ / "stderr";
    command += " > " + quote(out.string()) + " 2> " + quote(err.string());
    const int status = std::system(command.c_str());
    CliRun result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(out), read_file(err)};
    // The child runs with VKINFER_VALIDATION=1 (inherited from ctest).
    EXPECT_EQ(result.err.find("vkinfer: validation:"), std::string::npos) << result.err;
    return result;
  }

  std::string model() const { return test_data_dir() + "/models/bert"; }

  std::string write(const std::string& name, const std::string& content) {
    const auto path = dir_ / name;
    std::ofstream(path) << content;
    return path.string();
  }

  static std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::stringstream lines(text);
    std::string line;
    while (std::getline(lines, line))
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  const nlohmann::json& golden_case(const std::string& name) const {
    for (const auto& c : golden_["cases"])
      if (c["name"] == name) return c;
    throw std::runtime_error("no golden case " + name);
  }

  std::string bin_;
  std::filesystem::path dir_;
  nlohmann::json golden_;
};

TEST_F(ClassifyCli, TextPairJsonMatchesTransformers) {
  const auto& c = golden_case("pair");
  const CliRun r = run({"classify", "--model", model(), "--text", c["text"], "--pair",
                     c["text_pair"], "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  const auto& o = lines[0];
  std::set<std::string> keys;
  for (const auto& [key, value] : o.items()) keys.insert(key);
  EXPECT_EQ(keys, (std::set<std::string>{"label", "probs", "logits", "bucket", "tokens"}));
  EXPECT_EQ(o["label"], c["predicted_label"]);
  EXPECT_CLOSE(c["logits"].get<std::vector<float>>(), o["logits"].get<std::vector<float>>(), kAtol, 0.0);
  const auto probs = o["probs"].get<std::vector<float>>();
  ASSERT_EQ(probs.size(), 3u);
  EXPECT_NEAR(probs[0] + probs[1] + probs[2], 1.0, 1e-5);  // fp32 softmax sum
  EXPECT_EQ(o["tokens"], c["input_ids"].size());
  EXPECT_EQ(o["bucket"], 128);  // default buckets for 160 positions: 128, 160
}

TEST_F(ClassifyCli, HumanFormatNamesTheLabel) {
  const auto& c = golden_case("single");
  const CliRun r = run({"classify", "--model", model(), "--text", c["text"]});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(c["predicted_label"].get<std::string>(), 0), 0u) << r.out;
  for (const char* name : {"negative", "neutral", "positive"})
    EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
}

TEST_F(ClassifyCli, InputIdsWithTokenTypes) {
  const auto& c = golden_case("random_len63");
  std::string ids, types;
  for (int id : c["input_ids"]) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  for (int t : c["token_type_ids"]) types += (types.empty() ? "" : ",") + std::to_string(t);
  const CliRun r = run({"classify", "--model", model(), "--input-ids", ids, "--token-type-ids", types,
                     "--buckets", "8,32,64", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto o = json_lines(r.out).at(0);
  EXPECT_EQ(o["bucket"], 64);
  EXPECT_CLOSE(c["logits"].get<std::vector<float>>(), o["logits"].get<std::vector<float>>(), kAtol, 0.0);
}

TEST_F(ClassifyCli, TsvAndJsonLinesInInputOrderWithBatchesAndReplicas) {
  const auto& single = golden_case("single");
  const auto& pair = golden_case("pair");
  nlohmann::json jsonl = {{"text", pair["text"]}, {"pair", pair["text_pair"]}};
  const std::string file = write(
      "inputs.txt", pair["text"].get<std::string>() + "\t" + pair["text_pair"].get<std::string>() +
                        "\n" + single["text"].get<std::string>() + "\n\n" + jsonl.dump() + "\n" +
                        nlohmann::json{{"text", single["text"]}, {"pair", nullptr}}.dump() + "\n");
  for (const std::vector<std::string>& extra :
       {std::vector<std::string>{}, {"--batch", "3", "--buckets", "8,32"},
        {"--dp", "2", "--devices", "0,0", "--batch", "2"}}) {
    std::vector<std::string> args = {"classify", "--model", model(), "--input", file, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    const CliRun r = run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), 4u) << r.out;
    const nlohmann::json* expected[] = {&pair, &single, &pair, &single};
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(lines[i]["tokens"], (*expected[i])["input_ids"].size()) << "line " << i;
      EXPECT_CLOSE((*expected[i])["logits"].get<std::vector<float>>(),
                   lines[i]["logits"].get<std::vector<float>>(), kAtol, 0.0)
          << "result " << i << " with " << ::testing::PrintToString(extra);
    }
  }
}

TEST_F(ClassifyCli, MalformedLineNamesItsNumberOrIsSkipped) {
  const std::string file = write("bad.jsonl", "{\"text\": \"fine\"}\n{\"text\": 5}\nalso fine\n");
  const CliRun bad = run({"classify", "--model", model(), "--input", file});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("bad.jsonl:2:"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.out, "");
  const CliRun skip = run({"classify", "--model", model(), "--input", file, "--skip-bad-lines", "--json"});
  ASSERT_EQ(skip.code, 0) << skip.err;
  EXPECT_EQ(json_lines(skip.out).size(), 2u);
  EXPECT_NE(skip.err.find("bad.jsonl:2"), std::string::npos) << skip.err;

  const std::string broken = write("broken.jsonl", "ok\n{\"text\": \"unterminated\n");
  const CliRun r = run({"classify", "--model", model(), "--input", broken});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("broken.jsonl:2:"), std::string::npos) << r.err;
}

TEST_F(ClassifyCli, EmptyInputFileIsAClearError) {
  const CliRun r = run({"classify", "--model", model(), "--input", write("empty.tsv", "")});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
}

TEST_F(ClassifyCli, OverlongTextNeedsTruncate) {
  const auto& c = golden_case("long_text");
  const CliRun bad = run({"classify", "--model", model(), "--text", c["text"], "--buckets", "32,100"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--truncate"), std::string::npos) << bad.err;
  // HF truncation=True with max_length 100 is how the golden was made.
  const CliRun ok = run({"classify", "--model", model(), "--text", c["text"], "--buckets", "32,100",
                      "--truncate", "--json"});
  ASSERT_EQ(ok.code, 0) << ok.err;
  const auto o = json_lines(ok.out).at(0);
  EXPECT_EQ(o["tokens"], 100);
  EXPECT_CLOSE(c["logits"].get<std::vector<float>>(), o["logits"].get<std::vector<float>>(), kAtol, 0.0);
}

TEST_F(ClassifyCli, TokenizeGivesHfIds) {
  size_t checked = 0;
  for (const auto& c : golden_["cases"]) {
    if (!c.contains("text")) continue;
    std::vector<std::string> args = {"tokenize", "--model", model(), "--text", c["text"], "--json"};
    if (c.contains("text_pair") && !c["text_pair"].is_null()) {
      args.push_back("--pair");
      args.push_back(c["text_pair"]);
    }
    if (c.contains("truncated_to")) {
      args.push_back("--max-length");
      args.push_back(std::to_string(c["truncated_to"].get<int>()));
    }
    const CliRun r = run(args);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto o = json_lines(r.out).at(0);
    EXPECT_EQ(o["ids"], c["input_ids"]) << c["name"];
    EXPECT_EQ(o["type_ids"], c["token_type_ids"]) << c["name"];
    EXPECT_EQ(o["tokens"].front(), "[CLS]");
    EXPECT_EQ(o["tokens"].size(), c["input_ids"].size());
    ++checked;
  }
  EXPECT_EQ(checked, 3u);
  const CliRun plain = run({"tokenize", "--model", model(), "--text", "Is this thing on?"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.out.rfind("ids:      2 127 240 87 240 124 120 22 3\n", 0), 0u) << plain.out;
}

TEST_F(ClassifyCli, ArgumentErrors) {
  EXPECT_NE(run({"classify", "--model", model()}).code, 0);  // no input
  const CliRun pair_only = run({"classify", "--model", model(), "--pair", "x"});
  EXPECT_NE(pair_only.err.find("--pair needs --text"), std::string::npos) << pair_only.err;
  const CliRun dtype = run({"classify", "--model", model(), "--text", "x", "--dtype", "bf16"});
  EXPECT_NE(dtype.err.find("--dtype"), std::string::npos) << dtype.err;
  const CliRun bucket = run({"classify", "--model", model(), "--text", "x", "--buckets", "8,4096"});
  EXPECT_NE(bucket.err.find("--buckets"), std::string::npos) << bucket.err;
  const CliRun ids = run({"classify", "--model", model(), "--input-ids", "2,9999,3"});
  EXPECT_NE(ids.err.find("9999"), std::string::npos) << ids.err;
  const CliRun missing = run({"classify", "--model", (dir_ / "nothing").string(), "--text", "x"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("config.json"), std::string::npos) << missing.err;
}

TEST_F(ClassifyCli, DefaultModelIsBundledOrAClearError) {
  // Point the asset search at an empty folder: only the source tree's assets
  // remain, and the bundled model may not be trained yet.
  const CliRun r = run({"classify", "--text", "In the beginning"},
                    "VKINFER_ASSETS=" + quote(dir_.string()));
  const bool bundled = std::filesystem::exists(
      std::filesystem::path(test_data_dir()) / "../../assets/bert-kjv-nsp/config.json");
  if (bundled) {
    EXPECT_EQ(r.code, 0) << r.err;
  } else {
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("--model"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace vkinfer
