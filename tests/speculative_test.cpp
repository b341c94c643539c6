// Speculative decoding (runtime/speculative.h). The acceptance rule is
// checked statistically: the first token it emits follows the target's
// distribution (chi-square, fixed seed), while emitting the draft's tokens
// as they come would not. End to end, greedy output equals the target's own
// greedy tokens for several K with three kinds of draft (the target itself,
// its first layer, another family's model with the same vocabulary), which
// rejects often, so the KV caches must roll back exactly; a tp 2 target
// too; seeded sampling is reproducible.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <mutex>
#include <unistd.h>

#include "engine/core/error.h"
#include "engine/model/load_decoder.h"
#include "engine/runtime/speculative.h"
#include "partition/ranks.h"
#include "tests/support/draft_model.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::load_golden;
using testing::model_dir;

double chi_square(const std::vector<int>& counts, const std::vector<float>& probs, int n) {
  double stat = 0;
  for (size_t v = 0; v < probs.size(); ++v) {
    const double expected = n * double(probs[v]);
    stat += (counts[v] - expected) * (counts[v] - expected) / expected;
  }
  return stat;
}

// 5 degrees of freedom: 20.5 is the 0.999 quantile.
constexpr double kChiSquare999 = 20.5;

TEST(Speculative, AcceptanceRuleFollowsTheTargetDistribution) {
  const std::vector<float> p = {0.05f, 0.30f, 0.10f, 0.25f, 0.20f, 0.10f};
  const std::vector<float> q = {0.30f, 0.05f, 0.25f, 0.10f, 0.10f, 0.20f};
  const std::vector<float> bonus = {0.5f, 0.1f, 0.1f, 0.1f, 0.1f, 0.1f};
  std::mt19937_64 rng(1234);
  const int n = 40000;
  std::vector<int> emitted(6, 0), drafted(6, 0);
  int accepted = 0;
  for (int i = 0; i < n; ++i) {
    const int32_t d = draw(q, rng);
    ++drafted[d];
    const Verdict v = verify_drafts({p, bonus}, {d}, {q}, false, rng);
    ++emitted[v.accepted == 1 ? d : v.next];
    accepted += static_cast<int>(v.accepted);
  }
  EXPECT_LT(chi_square(emitted, p, n), kChiSquare999);
  // The test has power: the draft's own tokens are far from p.
  EXPECT_GT(chi_square(drafted, p, n), 100 * kChiSquare999);
  // Acceptance is sum(min(p, q)) = 0.50 in expectation.
  EXPECT_NEAR(double(accepted) / n, 0.50, 0.01);
}

TEST(Speculative, DistributionWarpsLikeTransformers) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 2.0f, -1.0f};
  ops::SamplingParams greedy;
  EXPECT_EQ(token_distribution(logits.data(), 5, greedy), (std::vector<float>{0, 1, 0, 0, 0}));
  ops::SamplingParams top2;
  top2.greedy = false;
  top2.top_k = 2;  // keeps 3.0 and both 2.0 (ties at the k-th value stay)
  const auto p = token_distribution(logits.data(), 5, top2);
  EXPECT_EQ(p[0], 0.0f);
  EXPECT_EQ(p[4], 0.0f);
  EXPECT_NEAR(p[1], std::exp(1.0) / (std::exp(1.0) + 2), 1e-6);
  ops::SamplingParams nucleus;
  nucleus.greedy = false;
  nucleus.top_p = 0.6f;  // the top token alone holds 0.53 < 0.6: one 2.0 joins it
  const auto q = token_distribution(logits.data(), 5, nucleus);
  int kept = 0;
  for (float v : q) kept += v > 0;
  EXPECT_EQ(kept, 2);
}

struct Pair {
  std::unique_ptr<Communicator> comm, draft_comm;
  std::unique_ptr<Decoder> target, draft;
  std::unique_ptr<Engine> target_engine, draft_engine;
};

Pair load_pair(const std::string& target, const std::string& draft, int64_t k, int64_t ctx) {
  Pair pair;
  pair.comm = make_single_communicator();
  pair.draft_comm = make_single_communicator();
  DecoderLimits limits;
  limits.ctx = ctx;
  limits.max_rows_per_seq = std::max<int64_t>(k + 1, 16);
  limits.all_logits = true;
  pair.target = load_decoder(target, testing::test_device(), *pair.comm, DType::kF32, limits);
  pair.target_engine = std::make_unique<Engine>(*pair.target);
  DecoderLimits draft_limits;
  draft_limits.ctx = ctx;
  draft_limits.max_rows_per_seq = 16;
  pair.draft = load_decoder(draft, testing::test_device(), *pair.draft_comm, DType::kF32, draft_limits);
  pair.draft_engine = std::make_unique<Engine>(*pair.draft);
  return pair;
}

TEST(Speculative, GreedyEqualsTheTargetAloneAndRollsBack) {
  const std::string target = model_dir("gptj");
  const auto golden = load_golden("gptj");
  const auto& c = golden["cases"][1];
  const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
  const auto expected = c["greedy_ids"].get<std::vector<int32_t>>();
  const auto first_layer = std::filesystem::temp_directory_path() / ("vkinfer_draft_" + std::to_string(getpid()));
  testing::write_first_layers(target, first_layer, 1);
  const int64_t ctx = testing::golden_ctx(target);
  struct Draft {
    std::string dir;
    bool always_accepted;
  };
  for (const Draft& draft : {Draft{target, true}, Draft{first_layer.string(), false},
                             Draft{model_dir("gpt2"), false}}) {
    for (int64_t k : {1, 2, 4}) {
      SCOPED_TRACE(::testing::Message() << "draft " << draft.dir << ", K " << k);
      Pair pair = load_pair(target, draft.dir, k, ctx);
      SpeculativeGenerator generator(*pair.target_engine, *pair.draft_engine, k);
      GenerateOptions options;
      options.max_new_tokens = static_cast<int64_t>(expected.size());
      options.ignore_eos = true;
      SpeculativeStats stats;
      const GenerateResult result = generator.run(prompt, options, {}, &stats);
      EXPECT_EQ(result.sequences[0].new_ids, expected);
      EXPECT_GT(stats.proposed, 0);
      if (draft.always_accepted) EXPECT_EQ(stats.accepted, stats.proposed);
      else EXPECT_LT(stats.accepted, stats.proposed) << "no rejection: the rollback went untested";
      EXPECT_EQ(stats.emitted, static_cast<int64_t>(expected.size()) - 1);
      // The slots came back empty.
      EXPECT_EQ(pair.target_engine->cache().free_slots(), 1);
      EXPECT_EQ(pair.draft_engine->cache().free_slots(), 1);
    }
  }
  std::filesystem::remove_all(first_layer);
}

TEST(Speculative, SeededSamplingIsReproducibleAndASelfDraftIsAlwaysKept) {
  const std::string target = model_dir("gpt2_layer_scaled");
  Pair pair = load_pair(target, target, 3, 64);
  SpeculativeGenerator generator(*pair.target_engine, *pair.draft_engine, 3);
  GenerateOptions options;
  options.max_new_tokens = 24;
  options.ignore_eos = true;
  options.sampling.greedy = false;
  options.sampling.temperature = 0.9f;
  options.sampling.top_k = 40;
  options.sampling.seed = 5;
  SpeculativeStats stats;
  const auto a = generator.run({3, 9, 27}, options, {}, &stats).sequences[0].new_ids;
  const auto b = generator.run({3, 9, 27}, options).sequences[0].new_ids;
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), 24u);
  // p == q: min(1, p / q) = 1 for every draft.
  EXPECT_EQ(stats.accepted, stats.proposed);
  options.sampling.seed = 6;
  EXPECT_NE(generator.run({3, 9, 27}, options).sequences[0].new_ids, a);
}

TEST(Speculative, TensorParallelTargetEqualsOneRank) {
  const std::string target = model_dir("llama"), draft = model_dir("llama_tied");
  const auto golden = load_golden("llama");
  const auto& c = golden["cases"][1];
  const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
  const auto expected = c["greedy_ids"].get<std::vector<int32_t>>();
  RankOptions options;
  options.tp = 2;
  options.devices = {0, 0};
  std::mutex mutex;
  std::vector<std::vector<int32_t>> outputs;
  run_ranks(options, [&](RankContext& rank) {
    DecoderLimits limits;
    limits.ctx = testing::golden_ctx(target);
    limits.max_rows_per_seq = 16;
    limits.all_logits = true;
    auto decoder = load_decoder(target, rank.device, rank.comm, DType::kF32, limits);
    Engine engine(*decoder);
    auto single = make_single_communicator();
    DecoderLimits draft_limits;
    draft_limits.ctx = limits.ctx;
    draft_limits.max_rows_per_seq = 16;
    auto draft_decoder = load_decoder(draft, rank.device, *single, DType::kF32, draft_limits);
    Engine draft_engine(*draft_decoder);
    SpeculativeGenerator generator(engine, draft_engine, 3);
    GenerateOptions generate;
    generate.max_new_tokens = static_cast<int64_t>(expected.size());
    generate.ignore_eos = true;
    const auto ids = generator.run(prompt, generate).sequences[0].new_ids;
    std::lock_guard<std::mutex> lock(mutex);
    outputs.push_back(ids);
  });
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0], expected);
  EXPECT_EQ(outputs[1], expected);
}

TEST(Speculative, BadDraftsAreClearErrors) {
  Pair pair = load_pair(model_dir("gpt2"), model_dir("llama"), 2, 32);
  testing::expect_error([&] { SpeculativeGenerator(*pair.target_engine, *pair.draft_engine, 2); },
                        ErrorCode::kInvalidArgument, {"vocabulary has 347 tokens", "317"});
  Pair same = load_pair(model_dir("gpt2"), model_dir("gpt2"), 2, 32);
  testing::expect_error([&] { SpeculativeGenerator(*same.target_engine, *same.draft_engine, 0); },
                        ErrorCode::kInvalidArgument, {"--draft-tokens must be >= 1"});
  SpeculativeGenerator generator(*same.target_engine, *same.draft_engine, 2);
  GenerateOptions options;
  options.max_new_tokens = 8;
  options.sampling.greedy = false;
  options.sampling.repetition_penalty = 1.3f;
  testing::expect_error([&] { generator.run({1, 2}, options); }, ErrorCode::kUnsupported,
                        {"--repetition-penalty", "--draft-model"});
}

}  // namespace
}  // namespace vkinfer
