// `vkinfer quantize`: the real binary writes a GGUF file from a HF folder,
// and `vkinfer generate` on that file gives exactly the ids (and, with a
// tokenizer, the text) of `generate --quant RECIPE` on the folder: the file
// holds the blocks --quant makes on the device, so greedy decoding cannot
// differ. The tiny test models have rows of 36/40/76 weights, which no block
// type fits, so their matrices take the F16 fallback; the bundled KJV GPT-2
// (192/768-wide rows) carries real Q8_0, Q5_0, Q4_K and Q6_K blocks. Bad
// input gives one clear error and leaves no file behind.
// tests/quantize_cli/test_quantize_py.py checks the files with gguf-py.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/cli_runner.h"
#include "tests/support/temp_dir.h"

namespace vkinfer {
namespace {

using testing::CliResult;
using testing::run_vkinfer;

std::filesystem::path test_model(const std::string& name) {
  const char* root = std::getenv("VKINFER_TEST_DATA");
  return std::filesystem::path(root ? root : "tests/data") / "models" / name;
}

std::filesystem::path kjv_model() {
  const char* root = std::getenv("VKINFER_ASSETS");
  return std::filesystem::path(root ? root : "assets") / "gpt2-kjv";
}

std::vector<std::string> files_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// One `generate --json` line's new ids and text; fails the test otherwise.
nlohmann::json generate(const std::vector<std::string>& args) {
  std::vector<std::string> full = {"generate", "--greedy", "--json", "--max-new-tokens", "8", "--ignore-eos"};
  full.insert(full.end(), args.begin(), args.end());
  const CliResult run = run_vkinfer(full, 120);
  EXPECT_EQ(run.exit_code, 0) << run.describe();
  try {
    return nlohmann::json::parse(run.out.substr(0, run.out.find('\n')));
  } catch (const nlohmann::json::exception&) {
    ADD_FAILURE() << "no JSON line: " << run.describe();
    return nlohmann::json::object();
  }
}

struct Case {
  std::string name;
  std::filesystem::path dir;
  std::string recipe;
  std::vector<std::string> quantize_extra;  // --no-tokenizer for Llama's SentencePiece tokenizer
  std::string prompt_ids;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class QuantizeRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(QuantizeRoundTrip, FileGeneratesWhatQuantOnTheFolderGenerates) {
  const Case& c = GetParam();
  testing::TempDir tmp;
  const std::string out = (tmp.path() / (c.name + ".gguf")).string();
  std::vector<std::string> args = {"quantize", "--model", c.dir.string(), "--quant", c.recipe, "--out", out};
  args.insert(args.end(), c.quantize_extra.begin(), c.quantize_extra.end());
  const CliResult q = run_vkinfer(args, 120);
  ASSERT_EQ(q.exit_code, 0) << q.describe();
  ASSERT_TRUE(std::filesystem::is_regular_file(out));
  EXPECT_EQ(files_in(tmp.path()), std::vector<std::string>{c.name + ".gguf"});  // no temp file left

  // The same blocks on the device: the same ids, and the same logits to the bit.
  const std::string folder_logits = (tmp.path() / "folder.npy").string(), file_logits = (tmp.path() / "file.npy").string();
  const nlohmann::json folder = generate({"--model", c.dir.string(), "--quant", c.recipe, "--prompt-ids", c.prompt_ids,
                                          "--logits-out", folder_logits});
  const nlohmann::json file = generate({"--model", out, "--prompt-ids", c.prompt_ids, "--logits-out", file_logits});
  ASSERT_TRUE(folder.contains("new_ids") && file.contains("new_ids"));
  EXPECT_EQ(folder["new_ids"].size(), 8u);
  EXPECT_EQ(file["new_ids"], folder["new_ids"]) << c.name << " " << c.recipe;
  auto bytes = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_FALSE(bytes(folder_logits).empty());
  EXPECT_TRUE(bytes(file_logits) == bytes(folder_logits)) << c.name << ": the logits differ";
}

const std::string kIds = "3,17,42,5,99";

INSTANTIATE_TEST_SUITE_P(
    Models, QuantizeRoundTrip,
    ::testing::Values(Case{"llama_q8_0", test_model("llama"), "q8_0", {"--no-tokenizer"}, kIds},
                      Case{"llama_q4_k_m", test_model("llama"), "q4_k_m", {"--no-tokenizer"}, kIds},
                      // rope_scaling llama3 goes out as rope_freqs.weight and comes back as the config.
                      Case{"llama3_rope_q8_0", test_model("llama3_rope"), "q8_0", {"--no-tokenizer"}, kIds},
                      Case{"gpt2_q8_0", test_model("gpt2"), "q8_0", {}, kIds},
                      Case{"gpt2_q4_k_m", test_model("gpt2"), "q4_k_m", {}, kIds},
                      Case{"qwen2_q8_0", test_model("qwen2"), "q8_0", {}, kIds},
                      Case{"qwen2_q4_k_m", test_model("qwen2"), "q4_k_m", {}, kIds},
                      Case{"kjv_q8_0", kjv_model(), "q8_0", {}, kIds},
                      Case{"kjv_q4_k_m", kjv_model(), "q4_k_m", {}, kIds}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// With the tokenizer in the file, a text prompt encodes and decodes the same.
TEST(QuantizeCli, KjvTextPromptGivesTheSameText) {
  testing::TempDir tmp;
  const std::string out = (tmp.path() / "kjv.gguf").string();
  const CliResult q = run_vkinfer({"quantize", "--model", kjv_model().string(), "--quant", "q4_k_m", "--out", out}, 120);
  ASSERT_EQ(q.exit_code, 0) << q.describe();
  EXPECT_NE(q.out.find("Q4_K"), std::string::npos) << q.out;  // the summary names the types written
  const std::string prompt = "In the beginning God created";
  const nlohmann::json folder = generate({"--model", kjv_model().string(), "--quant", "q4_k_m", "--prompt", prompt});
  const nlohmann::json file = generate({"--model", out, "--prompt", prompt});
  EXPECT_EQ(file.value("prompt_ids", nlohmann::json()), folder.value("prompt_ids", nlohmann::json()));
  EXPECT_EQ(file.value("new_ids", nlohmann::json()), folder.value("new_ids", nlohmann::json()));
  EXPECT_EQ(file.value("text", std::string("file")), folder.value("text", std::string("folder")));
}

// ---- bad input: one line naming the problem, nothing written

TEST(QuantizeCli, BadInputIsOneClearErrorAndLeavesNoFile) {
  testing::TempDir tmp;
  const std::string out = (tmp.path() / "out.gguf").string();
  const std::string gpt2 = test_model("gpt2").string();
  auto quantize = [&](const std::string& model, const std::string& recipe, const std::string& to,
                      std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"quantize", "--model", model, "--quant", recipe, "--out", to};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_vkinfer(args);
  };
  const CliResult unknown = quantize(gpt2, "q3_x", out);
  EXPECT_CLEAN_ERROR(unknown, {"q3_x", "q4_k_m"});
  EXPECT_EQ(unknown.exit_code, 2);

  const std::string missing_dir = (tmp.path() / "no_such_dir" / "out.gguf").string();
  EXPECT_CLEAN_ERROR(quantize(gpt2, "q8_0", missing_dir), {"no_such_dir", "does not exist"});

  EXPECT_CLEAN_ERROR(quantize(test_model("bert").string(), "q8_0", out), {"bert", "decoder"});

  std::filesystem::create_directories(tmp.path() / "a_dir.gguf");
  EXPECT_CLEAN_ERROR(quantize(gpt2, "q8_0", (tmp.path() / "a_dir.gguf").string()), {"a_dir.gguf", "is a directory"});

  EXPECT_CLEAN_ERROR(quantize(gpt2, "q8_0", (tmp.path() / "out.bin").string()), {"out.bin", ".gguf"});

  // Llama's tokenizer is SentencePiece-style BPE (byte fallback): GGUF
  // export writes byte-level BPE only, and says how to go on without it.
  EXPECT_CLEAN_ERROR(quantize(test_model("llama").string(), "q8_0", out), {"tokenizer.json", "--no-tokenizer"});

  EXPECT_EQ(files_in(tmp.path()), std::vector<std::string>{"a_dir.gguf"});  // nothing else, no .tmp
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path() / "a_dir.gguf"));
}

// An existing file is replaced only by a complete new one.
TEST(QuantizeCli, ReplacesAnExistingFile) {
  testing::TempDir tmp;
  tmp.write("out.gguf", "old");
  const std::string out = (tmp.path() / "out.gguf").string();
  const CliResult q = run_vkinfer({"quantize", "--model", test_model("gpt2").string(), "--quant", "q8_0", "--out", out});
  ASSERT_EQ(q.exit_code, 0) << q.describe();
  EXPECT_GT(std::filesystem::file_size(out), 1000u);
  // A failing run leaves the previous file as it was.
  const CliResult bad = run_vkinfer({"quantize", "--model", test_model("bert").string(), "--quant", "q8_0", "--out", out});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_GT(std::filesystem::file_size(out), 1000u);
}

}  // namespace
}  // namespace vkinfer
