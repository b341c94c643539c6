// BERT under tensor parallelism on logical devices: every golden case gives
// the same logits at tp = 2/3/4 (those that divide the heads) as transformers
// and as tp = 1.
#include <gtest/gtest.h>

#include <mutex>

#include "engine/model/config.h"
#include "engine/model/encoder_load.h"
#include "partition/ranks.h"
#include "tests/support/compare.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

std::vector<std::vector<float>> classify_tp(const std::string& name, int tp) {
  const auto golden = testing::load_golden(name);
  RankOptions options;
  options.tp = tp;
  options.devices.assign(tp, 0);
  std::vector<std::vector<float>> logits;
  std::mutex mutex;
  run_ranks(options, [&](RankContext& rank) {
    EncoderLimits limits;
    limits.batch = 1;
    limits.buckets = {32, 160};
    const BertConfig config = ModelConfig::load(testing::model_dir(name)).bert();
    limits.buckets.back() = config.max_position_embeddings;
    auto encoder = load_encoder(testing::model_dir(name), rank.device, rank.comm, DType::kF32, limits);
    vk::CommandStream stream(rank.device);
    encoder->warm_up(stream);
    std::vector<std::vector<float>> local;
    for (const auto& c : golden["cases"]) {
      EncoderInput input{c["input_ids"].get<std::vector<int32_t>>(), c["token_type_ids"].get<std::vector<int32_t>>()};
      auto bucket = encoder->bucket_for(static_cast<int64_t>(input.ids.size()));
      local.push_back(encoder->classify(stream, *bucket, {&input}));
    }
    if (rank.comm.rank() == 0) {
      std::lock_guard<std::mutex> lock(mutex);
      logits = std::move(local);
    }
  });
  return logits;
}

class EncoderTensorParallel : public ::testing::TestWithParam<std::string> {};

TEST_P(EncoderTensorParallel, MatchesSingleRankAndTransformers) {
  const std::string name = GetParam();
  const auto golden = testing::load_golden(name);
  const auto single = classify_tp(name, 1);
  const int64_t heads = ModelConfig::load(testing::model_dir(name)).bert().num_heads;
  int tested = 0;
  for (int tp : {2, 3, 4}) {
    if (heads % tp != 0) continue;
    ++tested;
    const auto split = classify_tp(name, tp);
    ASSERT_EQ(split.size(), golden["cases"].size());
    for (size_t i = 0; i < split.size(); ++i) {
      // Partial sums added in another order than tp = 1: 1e-4 bounds it
      // (issue 6); transformers' logits are held to 1e-4 as at tp = 1.
      EXPECT_CLOSE(single[i], split[i], 1e-4, 0.0) << name << " tp " << tp << " case " << i;
      EXPECT_CLOSE(golden["cases"][i]["logits"].get<std::vector<float>>(), split[i], 1e-4, 0.0)
          << name << " tp " << tp << " case " << i;
    }
  }
  EXPECT_GT(tested, 0) << name << " has no head count divisible by 2, 3 or 4";
}

INSTANTIATE_TEST_SUITE_P(Bert, EncoderTensorParallel, ::testing::Values("bert", "bert2"));

}  // namespace
}  // namespace vkinfer
