// The bundled models (assets/) against transformers' goldens, and the README's
// run command path: `vkinfer generate` with no --model prints real text.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/generate.h"
#include "engine/model/load_decoder.h"
#include "engine/model/npy.h"
#include "engine/model/tokenizer.h"
#include "tests/support/cli_runner.h"
#include "tests/support/compare.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

std::string assets_dir() {
  const char* env = std::getenv("VKINFER_ASSETS");
  return env ? env : std::string(VKINFER_SOURCE_DIR) + "/assets";
}

TEST(BundledGpt2, MatchesTransformers) {
  const auto golden = testing::load_golden("assets_gpt2");
  const std::string dir = assets_dir() + "/gpt2-kjv";
  auto tokenizer = Tokenizer::load(dir);
  const auto prompt = golden["prompt_ids"].get<std::vector<int32_t>>();
  EXPECT_EQ(tokenizer->encode(golden["prompt_text"].get<std::string>()).ids, prompt);

  auto comm = make_single_communicator();
  DecoderLimits limits;
  limits.batch = 1;
  limits.max_rows_per_seq = 64;
  limits.all_logits = true;
  auto decoder = load_decoder(dir, testing::test_device(), *comm, DType::kF32, limits);
  Generator generator(*decoder);
  GenerateOptions options;
  options.max_new_tokens = golden["new_tokens"];
  options.ignore_eos = true;
  options.want_prefill_logits = true;
  const GenerateResult result = generator.run({prompt}, options);
  EXPECT_EQ(result.sequences[0].new_ids, golden["greedy_ids"].get<std::vector<int32_t>>());
  NpyArray expected = read_npy(testing::test_data_dir() + "/golden/" + golden["prefill_logits"].get<std::string>());
  // fp16 checkpoint upcast to fp32 on both sides; same bound as the
  // tiny-model goldens (different summation order only).
  EXPECT_CLOSE(expected.data, result.prefill_logits, 1e-3, 0.0);
  EXPECT_EQ(tokenizer->decode(result.sequences[0].new_ids), golden["greedy_text"].get<std::string>());
}

TEST(BundledGpt2, DefaultRunPrintsText) {
  const auto golden = testing::load_golden("assets_gpt2");
  testing::CliResult run = testing::run_vkinfer({"generate", "--max-new-tokens", "32"}, 120);
  ASSERT_TRUE(run.exited() && run.exit_code == 0) << run.describe();
  EXPECT_EQ(run.out, golden["full_text"].get<std::string>() + "\n");
}

}  // namespace
}  // namespace vkinfer
