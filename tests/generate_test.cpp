// Generation end to end through the GPU sampler: greedy tokens equal
// transformers' generate(do_sample=False) for every family, a list of prompts
// equals transformers' batched answer, seeded sampling is reproducible, and the real
// stories260K model (when ../shared is present) matches its golden.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/generator.h"
#include "engine/runtime/scheduler.h"
#include "engine/model/load_decoder.h"
#include "engine/io/npy.h"
#include "tests/support/compare.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::load_golden;
using testing::model_dir;
using testing::test_device;

std::vector<std::vector<int32_t>> run(const std::string& dir, const std::vector<std::vector<int32_t>>& prompts,
                                      GenerateOptions options, DType dtype = DType::kF32,
                                      GenerateResult* out = nullptr) {
  auto comm = make_single_communicator();
  DecoderLimits limits;
  limits.batch = static_cast<int64_t>(prompts.size());
  limits.max_rows_per_seq = 64;  // prompts of ~100 tokens prefill in two chunks
  limits.all_logits = options.want_prefill_logits;
  limits.ctx = testing::golden_ctx(dir);
  auto decoder = load_decoder(dir, test_device(), *comm, dtype, limits);
  Engine engine(*decoder);
  Generator generator(engine);
  GenerateResult result = generator.run(prompts, options);
  std::vector<std::vector<int32_t>> ids;
  for (auto& sequence : result.sequences) ids.push_back(sequence.new_ids);
  if (out) *out = std::move(result);
  return ids;
}

GenerateOptions greedy(int64_t tokens) {
  GenerateOptions options;
  options.max_new_tokens = tokens;
  options.ignore_eos = true;
  return options;
}

class GenerateGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(GenerateGolden, GreedyMatchesTransformers) {
  const auto golden = load_golden(GetParam());
  for (const auto& c : golden["cases"]) {
    const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    const auto expected = c["greedy_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(run(model_dir(GetParam()), {prompt}, greedy(expected.size()))[0], expected)
        << GetParam() << " prompt of " << prompt.size();
  }
}

TEST_P(GenerateGolden, BatchEqualsTransformersBatch) {
  const auto golden = load_golden(GetParam());
  std::vector<std::vector<int32_t>> prompts, expected;
  for (const auto& p : golden["batch"]["prompts"]) {
    prompts.push_back(p["prompt_ids"].get<std::vector<int32_t>>());
    // HF's own batch answer where it differs from the solo run (dynamic
    // rope_scaling: the base follows the batch's longest row).
    expected.push_back(p.value("batch_greedy_ids", p["greedy_ids"]).get<std::vector<int32_t>>());
  }
  EXPECT_EQ(run(model_dir(GetParam()), prompts, greedy(expected[0].size())), expected) << GetParam();
}

TEST_P(GenerateGolden, PrefillLogitsOutMatchTransformers) {
  const auto golden = load_golden(GetParam());
  const auto& c = golden["cases"][1];
  GenerateOptions options = greedy(1);
  options.want_prefill_logits = true;
  GenerateResult result;
  run(model_dir(GetParam()), {c["prompt_ids"].get<std::vector<int32_t>>()}, options, DType::kF32, &result);
  NpyArray expected = read_npy(testing::test_data_dir() + "/golden/" + c["prefill_logits"].get<std::string>());
  // Same bound as the decoder test: fp32, different summation order.
  EXPECT_CLOSE(expected.data, result.prefill_logits, 1e-3, 0.0);
}

TEST_P(GenerateGolden, F16WeightsGiveTheSameGreedyTokens) {
  // fp16 weights round every weight by up to 2^-11 relative; on these models
  // the greedy margins (recorded in the goldens, >= 2e-3) stay larger than
  // the resulting logit error, so the tokens must not change.
  const auto golden = load_golden(GetParam());
  for (const auto& c : golden["cases"]) {
    const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    const auto expected = c["greedy_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(run(model_dir(GetParam()), {prompt}, greedy(expected.size()), DType::kF16)[0], expected)
        << GetParam() << " f16, prompt of " << prompt.size();
  }
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, GenerateGolden,
                         ::testing::Values("gpt2", "llama", "llama_tied", "opt", "opt_postln", "gptj",
                                           "gpt_neox", "gpt_neox_seq", "llama_rope_dynamic",
                                           "gpt_neox_rope_linear", "gpt2_layer_scaled", "llama3_rope", "qwen2", "qwen2_tied", "mistral", "gemma", "phi3"));

TEST(Generate, SeededSamplingIsReproducibleAndTopK1IsGreedy) {
  const auto golden = load_golden("llama");
  const auto prompt = golden["cases"][0]["prompt_ids"].get<std::vector<int32_t>>();
  GenerateOptions sampled = greedy(24);
  sampled.sampling.greedy = false;
  sampled.sampling.temperature = 1.3f;
  sampled.sampling.top_k = 0;
  sampled.sampling.top_p = 0.95f;
  sampled.sampling.seed = 42;
  const auto first = run(model_dir("llama"), {prompt}, sampled);
  EXPECT_EQ(first, run(model_dir("llama"), {prompt}, sampled));
  sampled.sampling.seed = 43;
  EXPECT_NE(first, run(model_dir("llama"), {prompt}, sampled));
  GenerateOptions top1 = sampled;
  top1.sampling.top_k = 1;
  top1.sampling.top_p = 1.0f;
  auto expected = golden["cases"][0]["greedy_ids"].get<std::vector<int32_t>>();
  expected.resize(24);
  EXPECT_EQ(run(model_dir("llama"), {prompt}, top1)[0], expected);
}

TEST(Generate, StopsAtEosUnlessIgnored) {
  const auto golden = load_golden("gpt2");
  const auto prompt = golden["cases"][0]["prompt_ids"].get<std::vector<int32_t>>();
  const auto expected = golden["cases"][0]["greedy_ids"].get<std::vector<int32_t>>();
  GenerateOptions options = greedy(expected.size());
  options.ignore_eos = false;
  GenerateResult result;
  const auto ids = run(model_dir("gpt2"), {prompt}, options, DType::kF32, &result)[0];
  // The greedy continuation up to and including the first EOS, if any.
  const int eos = testing::load_json_file(model_dir("gpt2") + "/config.json")["eos_token_id"];
  std::vector<int32_t> want;
  for (int32_t id : expected) {
    want.push_back(id);
    if (id == eos) break;
  }
  EXPECT_EQ(ids, want);
  EXPECT_EQ(result.sequences[0].finish_reason, want.back() == eos ? "eos" : "length");
}

TEST(Generate, RejectsBadRequests) {
  auto comm = make_single_communicator();
  DecoderLimits limits;
  limits.batch = 1;
  limits.ctx = 40;
  limits.max_rows_per_seq = 32;
  auto decoder = load_decoder(model_dir("gpt2"), test_device(), *comm, DType::kF32, limits);
  Engine engine(*decoder);
  Generator generator(engine);
  auto expect_invalid = [&](std::vector<int32_t> prompt, GenerateOptions options) {
    try {
      generator.run({prompt}, options);
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << e.what();
    }
  };
  expect_invalid(std::vector<int32_t>(41, 5), greedy(1));     // longer than the context
  expect_invalid(std::vector<int32_t>(30, 5), greedy(20));    // + new tokens past the context
  expect_invalid({5, 100000}, greedy(1));                     // id outside the vocabulary
  expect_invalid({}, greedy(1));                              // empty prompt
  GenerateOptions bad = greedy(1);
  bad.sampling.greedy = false;
  bad.sampling.temperature = -1.0f;
  expect_invalid({5}, bad);
  bad.sampling.temperature = 1.0f;
  bad.sampling.top_p = 1.5f;
  expect_invalid({5}, bad);
}

TEST(Generate, Stories260KMatchesSharedGolden) {
  const std::string shared = testing::shared_dir();
  if (shared.empty()) GTEST_SKIP() << "../shared is absent: the real stories260K model is not available";
  const auto golden = testing::load_json_file(shared + "/golden/stories260K.json");
  for (const auto& c : golden["cases"]) {
    const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
    auto sequence = c["sequence"].get<std::vector<int32_t>>();
    std::vector<int32_t> expected(sequence.begin() + prompt.size(), sequence.end());
    GenerateOptions options;
    options.max_new_tokens = c["max_new_tokens"];
    options.ignore_eos = c.value("ignore_eos", false);
    EXPECT_EQ(run(shared + "/models/stories260K", {prompt}, options)[0], expected);
  }
}

}  // namespace
}  // namespace vkinfer
