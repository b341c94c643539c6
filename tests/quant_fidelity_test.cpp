// Quantize-on-load fidelity (#20): the bundled KJV GPT-2 under every
// --quant recipe against its own fp32 logits over a Genesis text, through
// `vkinfer perplexity --kl-base`, with the mean KL divergence and the
// top-1 agreement asserted under bounds taken from llama.cpp's published
// fidelity for Llama-3-8B on wikitext-2 (its perplexity README, quoted in
// the issue):
//
//   format   KL        same top
//   Q8_0     0.0014    97.7%
//   Q6_K     0.0055    96.0%
//   Q4_K_M   0.031     91.9%
//   Q4_0     0.072     -
//
// A format must be at least as faithful here as llama.cpp measures it on a
// real model: quantization error in a block format depends on the block's
// spread, not on the model's size, and this model's rows are of the same
// kind (trained weights, no outliers beyond what training makes). Formats
// the table lacks take the bound of the nearest listed format with fewer
// bits (Q5_0, Q5_1, Q4_K: Q4_K_M's; Q4_1: Q4_0's). The top-1 bounds for
// formats without a published number are 85%: over 126 scored tokens one
// flipped near-tie is 0.8%, and a broken kernel lands far below (random
// agreement on a 4096-token vocabulary is ~0%).
//
// Measured on lavapipe (2026-12-06): KL q8_0 2.8e-5, q6_k 3.7e-5,
// q4_k_m 2.6e-4, q5_1 1.4e-3, q5_0 2.0e-3, q4_k 2.2e-3, q4_1 7.2e-3, q4_0
// 9.9e-3; same top 100, 99.2, 97.6, 96.8, 92.9, 92.9, 88.9, 89.7%. On this
// model's 192-wide rows q4_k falls back to q5_0 (not whole 256-blocks)
// except for ffn_down (768 wide), which is Q4_K, so both kernels run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/cli_runner.h"
#include "tests/support/gpu.h"
#include "tests/support/temp_dir.h"

namespace vkinfer {
namespace {

using testing::CliResult;
using testing::run_vkinfer;

std::string model() { return std::string(VKINFER_SOURCE_DIR) + "/assets/gpt2-kjv"; }
std::string text() { return testing::test_data_dir() + "/perplexity/genesis1.txt"; }

nlohmann::json perplexity(std::vector<std::string> extra) {
  std::vector<std::string> args = {"perplexity", "--model", model(), "--input", text(), "--ctx", "128", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  const CliResult run = run_vkinfer(args, 300);
  EXPECT_TRUE(run.exited() && run.exit_code == 0) << run.describe();
  try {
    return nlohmann::json::parse(run.out);
  } catch (const nlohmann::json::exception&) {
    ADD_FAILURE() << "not one JSON object: " << run.describe();
    return nlohmann::json::object();
  }
}

TEST(QuantFidelity, EveryRecipeAgainstFp32) {
  testing::TempDir dir;
  const std::string base = (dir.path() / "fp32.logits").string();
  const nlohmann::json fp32 = perplexity({"--save-logits", base});
  ASSERT_TRUE(fp32.contains("ppl"));
  struct Bound {
    const char* quant;
    double max_kl, min_same_top;
  };
  const Bound bounds[] = {
      {"q8_0", 0.0014, 0.977}, {"q6_k", 0.0055, 0.960}, {"q5_1", 0.031, 0.85}, {"q5_0", 0.031, 0.85},
      {"q4_k", 0.031, 0.85},   {"q4_k_m", 0.031, 0.919}, {"q4_1", 0.072, 0.85}, {"q4_0", 0.072, 0.85},
  };
  for (const Bound& bound : bounds) {
    const nlohmann::json run = perplexity({"--quant", bound.quant, "--kl-base", base});
    ASSERT_TRUE(run.contains("kl")) << bound.quant;
    const double kl = run["kl"]["mean"], same_top = run["kl"]["same_top"];
    std::printf("%-7s KL %.3g  same top %.1f%%  PPL %.4f (fp32 %.4f)\n", bound.quant, kl, 100 * same_top,
                run["ppl"].get<double>(), fp32["ppl"].get<double>());
    EXPECT_LT(kl, bound.max_kl) << bound.quant;
    EXPECT_GT(kl, 0.0) << bound.quant << ": a quantized run equal to fp32 means the recipe did nothing";
    EXPECT_GE(same_top, bound.min_same_top) << bound.quant;
  }
}

TEST(QuantFidelity, BadRecipeIsOneClearError) {
  const CliResult run = run_vkinfer({"generate", "--model", model(), "--prompt", "In", "--quant", "q3_k"}, 60);
  EXPECT_TRUE(run.exited() && run.exit_code != 0) << run.describe();
  EXPECT_NE(run.err.find("q3_k"), std::string::npos) << run.describe();
  EXPECT_NE(run.err.find("q4_k_m"), std::string::npos) << "the error lists the recipes: " << run.describe();
}

}  // namespace
}  // namespace vkinfer
