// Bad-input matrix, part 3: bad requests to good models. Generation flags
// (prompt vs context, sampling values, token ids), tensor-parallel setups
// (tp not dividing the heads, broken shard folders) and classification input
// files, each through the real `vkinfer` binary. All must end in one clean
// error line; --skip-bad-lines must report bad lines and classify the rest.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/cli_runner.h"
#include "tests/support/model_fixture.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CliResult;
using testing::good_model;
using testing::IsCleanError;
using testing::run_vkinfer;

// gpt2 tiny: vocab 317, 160 learned positions, 3 heads.
CliResult generate_gpt2(std::vector<std::string> extra) {
  std::vector<std::string> args = {"generate", "--model", good_model("gpt2").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_vkinfer(args);
}

// ------------------------------------------------------------- command line
// A malformed command line follows the same contract as any bad argument:
// one "vkinfer: error:" line and exit status 2 (CLI11's own codes are 104-109).
TEST(BadCommandLine, UnknownFlagNonNumberAndUnknownCommand) {
  const CliResult unknown_flag = run_vkinfer({"classify", "--no-such-flag"});
  EXPECT_CLEAN_ERROR(unknown_flag, {"--no-such-flag", "vkinfer classify --help"});
  EXPECT_EQ(unknown_flag.exit_code, 2) << unknown_flag.describe();
  const CliResult not_a_number = generate_gpt2({"--max-new-tokens", "abc"});
  EXPECT_CLEAN_ERROR(not_a_number, {"--max-new-tokens", "abc"});
  EXPECT_EQ(not_a_number.exit_code, 2) << not_a_number.describe();
  const CliResult unknown_command = run_vkinfer({"frobnicate"});
  EXPECT_CLEAN_ERROR(unknown_command, {"unknown command 'frobnicate'", "generate", "classify"});
  EXPECT_EQ(unknown_command.exit_code, 2) << unknown_command.describe();
  const CliResult no_command = run_vkinfer({});
  EXPECT_CLEAN_ERROR(no_command, {"subcommand"});
  EXPECT_EQ(no_command.exit_code, 2) << no_command.describe();
  // Help is not an error.
  const CliResult help = run_vkinfer({"classify", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.describe();
  EXPECT_NE(help.out.find("--pipeline-cache"), std::string::npos) << help.describe();
}

// ---------------------------------------------------------------- generation
TEST(BadGenerate, PromptLongerThanContext) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--ctx", "4", "--prompt-ids", "1,2,3,4,5,6"}),
                     {"6 tokens", "context holds 4", "--ctx"});
}

TEST(BadGenerate, ContextPastTheModelsPositions) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--ctx", "1000", "--prompt-ids", "1,2"}), {"--ctx 1000", "160"});
}

TEST(BadGenerate, ContextHintSaysRotaryModelsRunPastTheirPositions) {
  // llama_rope_dynamic: rotary, max_position_embeddings 24, dynamic rope_scaling.
  const CliResult result = run_vkinfer({"generate", "--model", good_model("llama_rope_dynamic").string(),
                                        "--ctx", "4", "--prompt-ids", "1,2,3,4,5,6"});
  EXPECT_CLEAN_ERROR(result, {"context holds 4", "trained on 24 positions", "runs past that",
                              "dynamic rope_scaling"});
}

TEST(BadGenerate, MaxNewTokensPastContext) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--ctx", "8", "--prompt-ids", "1,2", "--max-new-tokens", "100"}),
                     {"--max-new-tokens 100", "context of 8"});
}

TEST(BadGenerate, BucketsDoNotApplyToGenerate) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--buckets", "16,32"}),
                     {"--buckets", "exact length"});
}

// Pipeline shapes, and speculative drafts that cannot serve the target.
TEST(BadGenerate, PipelineAndDraftMistakes) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--pp", "3"}), {"--pp 3", "2 layers"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--pipeline-cuts", "1,1"}),
                     {"strictly increasing"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--pipeline-cuts", "2"}), {"outside [1, 1]"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--pp", "3", "--pipeline-cuts", "1"}),
                     {"--pipeline-cuts 1 makes 2 stages but --pp is 3"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--pp", "2", "--microbatches", "0"}),
                     {"--microbatches must be >= 1"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--draft-model", good_model("llama").string()}),
                     {"vocabulary has 347 tokens", "317"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--draft-model", good_model("gpt2").string(),
                                    "--draft-tokens", "0"}),
                     {"--draft-tokens must be >= 1"});
}

// Token ids need no tokenizer (as transformers runs such a folder): a
// folder with only config.json and weights generates from --prompt-ids the
// ids the full folder gives; text prompts and stop strings are clean errors.
TEST(BadGenerate, FolderWithoutTokenizerRunsFromIds) {
  testing::TempDir temp;
  const fs::path bare = temp / "bare";
  fs::create_directories(bare);
  for (const char* file : {"config.json", "model.safetensors"})
    fs::copy_file(good_model("gpt2") / file, bare / file);
  const std::vector<std::string> ids = {"--prompt-ids", "5,17,42", "--max-new-tokens", "6", "--json"};
  std::vector<std::string> args = {"generate", "--model", bare.string()};
  args.insert(args.end(), ids.begin(), ids.end());
  const CliResult without = run_vkinfer(args);
  ASSERT_EQ(without.exit_code, 0) << without.describe();
  const CliResult with = generate_gpt2(ids);
  ASSERT_EQ(with.exit_code, 0) << with.describe();
  EXPECT_EQ(json::parse(without.out)["new_ids"], json::parse(with.out)["new_ids"]);
  EXPECT_CLEAN_ERROR(run_vkinfer({"generate", "--model", bare.string(), "--prompt", "hello"}),
                     {"no tokenizer.json"});
  EXPECT_CLEAN_ERROR(run_vkinfer({"generate", "--model", bare.string(), "--prompt-ids", "1,2", "--stop", "x"}),
                     {"stop strings need the model's tokenizer"});
}

TEST(BadGenerate, NegativeMaxNewTokens) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--max-new-tokens", "-3"}), {"--max-new-tokens"});
}

TEST(BadGenerate, PromptIdsOutsideTheVocabulary) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,317"}), {"317", "outside the vocabulary"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "-5,1"}), {"-5", "outside the vocabulary"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,x"}), {"--prompt-ids", "1,x"});
}

TEST(BadGenerate, NegativeTemperature) {
  // -1 once doubled as "unset" inside the CLI and was silently accepted.
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--temperature", "-1"}), {"--temperature", "-1"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--temperature", "-0.5"}), {"--temperature"});
}

TEST(BadGenerate, TopPOutsideZeroOne) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--top-p", "0"}), {"top_p", "(0, 1]"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--top-p", "1.5"}), {"top_p", "1.5"});
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--top-p", "-1"}), {"top_p", "-1"});
}

TEST(BadGenerate, EmptyPrompt) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt", ""}), {"prompt is empty"});
}

TEST(BadGenerate, EmptyPromptFile) {
  testing::TempDir temp;
  testing::write_bytes(temp / "prompts.txt", "\n\n");
  EXPECT_CLEAN_ERROR(generate_gpt2({"--input", (temp / "prompts.txt").string()}),
                     {(temp / "prompts.txt").string(), "no prompt"});
}

TEST(BadGenerate, MalformedPromptFileLine) {
  testing::TempDir temp;
  testing::write_bytes(temp / "prompts.txt", "Hello\n{\"prompt\": 3}\n");
  EXPECT_CLEAN_ERROR(generate_gpt2({"--input", (temp / "prompts.txt").string()}),
                     {(temp / "prompts.txt").string() + ":2", "prompt"});
}

// ---------------------------------------------------------------- tensor parallel
TEST(BadTensorParallel, TpDoesNotDivideTheHeads) {
  EXPECT_CLEAN_ERROR(generate_gpt2({"--prompt-ids", "1,2", "--tp", "2"}),
                     {"--tp 2", "3 attention heads"});
  testing::TempDir temp;
  EXPECT_CLEAN_ERROR(run_vkinfer({"shard", "--model", good_model("gpt2").string(), "--tp", "2", "--out",
                                  (temp / "out").string()}),
                     {"--tp 2", "3 attention heads"});
  EXPECT_FALSE(fs::exists(temp / "out")) << "nothing is written before the split is validated";
}

// One llama shard folder per test: 4 heads, 2 kv heads, split over 2 ranks.
class BadShards : public ::testing::Test {
 protected:
  void SetUp() override {
    shards_ = temp_ / "llama_tp2";
    const CliResult made = run_vkinfer(
        {"shard", "--model", good_model("llama").string(), "--tp", "2", "--out", shards_.string()});
    ASSERT_TRUE(made.exited() && made.exit_code == 0) << made.describe();
  }
  CliResult generate(const std::string& tp) const {
    return run_vkinfer({"generate", "--model", shards_.string(), "--tp", tp, "--prompt-ids", "1,2",
                        "--max-new-tokens", "2"});
  }

  testing::TempDir temp_;
  fs::path shards_;
};

TEST_F(BadShards, IntactFolderRuns) {
  const CliResult result = generate("2");
  EXPECT_TRUE(result.exited() && result.exit_code == 0) << result.describe();
}

TEST_F(BadShards, MissingRank) {
  fs::remove_all(shards_ / "tp_rank_1");
  EXPECT_CLEAN_ERROR(generate("2"), {"rank 1", "missing", "tp_rank_1"});
}

TEST_F(BadShards, WrongTp) {
  EXPECT_CLEAN_ERROR(generate("1"), {"sharded for tp 2", "--tp 1"});
  EXPECT_CLEAN_ERROR(generate("4"), {"sharded for tp 2", "--tp 4"});
}

TEST_F(BadShards, ManifestMalformed) {
  testing::write_bytes(shards_ / "vkinfer_shards.json", "{\"format\": \"vkinfer-shards\", \"tp\": 2,");
  EXPECT_CLEAN_ERROR(generate("2"), {(shards_ / "vkinfer_shards.json").string(), "malformed JSON"});
}

TEST_F(BadShards, ManifestFieldsWrong) {
  const fs::path manifest = shards_ / "vkinfer_shards.json";
  const std::string good = testing::read_bytes(manifest);
  testing::edit_json(manifest, [](json& m) { m["tp"] = "two"; });
  EXPECT_CLEAN_ERROR(generate("2"), {manifest.string(), "\"tp\""});
  testing::write_bytes(manifest, good);
  testing::edit_json(manifest, [](json& m) { m["rules_version"] = 999; });
  EXPECT_CLEAN_ERROR(generate("2"), {manifest.string(), "rules version 999"});
  testing::write_bytes(manifest, good);
  testing::edit_json(manifest, [](json& m) { m.erase("format"); });
  EXPECT_CLEAN_ERROR(generate("2"), {manifest.string(), "format"});
}

TEST_F(BadShards, RankFileFromAnotherSplit) {
  // A rank file swapped in from a tp 1 split of the same model: the manifest
  // says 2 ranks, the file holds whole tensors. The loader must name the
  // tensor whose shape is wrong instead of reading past a slice.
  const fs::path other = temp_ / "llama_tp1";
  const CliResult made = run_vkinfer(
      {"shard", "--model", good_model("llama").string(), "--tp", "1", "--out", other.string()});
  ASSERT_TRUE(made.exited() && made.exit_code == 0) << made.describe();
  fs::copy_file(other / "tp_rank_0" / "model.safetensors", shards_ / "tp_rank_1" / "model.safetensors",
                fs::copy_options::overwrite_existing);
  EXPECT_CLEAN_ERROR(generate("2"), {"tp_rank_1", "shape", "re-run `vkinfer shard`"});
}

// ---------------------------------------------------------------- classification
class BadClassifyInput : public ::testing::Test {
 protected:
  CliResult classify(const std::string& content, std::vector<std::string> extra = {}) {
    testing::write_bytes(input_, content);
    std::vector<std::string> args = {"classify", "--model", good_model("bert").string(), "--input",
                                     input_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_vkinfer(args);
  }

  testing::TempDir temp_;
  fs::path input_ = temp_ / "inputs.tsv";
};

TEST_F(BadClassifyInput, EmptyFile) {
  EXPECT_CLEAN_ERROR(classify(""), {input_.string(), "empty"});
  EXPECT_CLEAN_ERROR(classify("\n  \n"), {input_.string(), "empty"});
}

TEST_F(BadClassifyInput, MalformedTsvLineNamesItsLine) {
  EXPECT_CLEAN_ERROR(classify("a good line\tits pair\ntoo\tmany\tfields\nfine\n"),
                     {input_.string() + ":2", "tab", "--skip-bad-lines"});
}

TEST_F(BadClassifyInput, MalformedJsonLineNamesItsLine) {
  EXPECT_CLEAN_ERROR(classify("first\nsecond\n{\"text\": \"unterminated\n"),
                     {input_.string() + ":3", "JSON", "--skip-bad-lines"});
  EXPECT_CLEAN_ERROR(classify("{\"text\": 5}\n"), {input_.string() + ":1", "\"text\""});
}

TEST_F(BadClassifyInput, SkipBadLinesKeepsTheRest) {
  const CliResult result =
      classify("the first text\n{\"text\": \ntoo\tmany\tfields\n{\"text\": \"the fourth\"}\n", {"--skip-bad-lines"});
  ASSERT_TRUE(result.exited() && result.exit_code == 0) << result.describe();
  // The good lines are classified under their own line numbers...
  EXPECT_NE(result.out.find("line 1: "), std::string::npos) << result.describe();
  EXPECT_NE(result.out.find("line 4: "), std::string::npos) << result.describe();
  EXPECT_EQ(result.out.find("line 2: "), std::string::npos) << result.describe();
  // ...and each bad one is reported on stderr with its number.
  EXPECT_NE(result.err.find(input_.string() + ":2"), std::string::npos) << result.describe();
  EXPECT_NE(result.err.find(input_.string() + ":3"), std::string::npos) << result.describe();
}

TEST_F(BadClassifyInput, SkipBadLinesWithNothingLeft) {
  const CliResult result = classify("{\"text\": \n", {"--skip-bad-lines"});
  EXPECT_FALSE(result.exited() && result.exit_code == 0) << result.describe();
  EXPECT_TRUE(result.exited()) << result.describe();
  EXPECT_NE(result.err.find("vkinfer: error: "), std::string::npos) << result.describe();
  EXPECT_NE(result.err.find("every line was malformed"), std::string::npos) << result.describe();
}

}  // namespace
}  // namespace vkinfer
