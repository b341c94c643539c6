// BERT tensor parallelism as `vkinfer classify --tp/--dp` runs it: dp
// replicas x tp ranks on logical devices of one physical device, each rank
// its own slice, replicas sharing the forwards (classify_on_rank). tp 2 and 3
// equal tp 1 within 1e-5 (only the order of the all-reduce's partial sums
// differs), dp 2 x tp 2 too, and encoder shards written by `vkinfer shard`
// load to the same logits as the Hugging Face folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <unistd.h>

#include "engine/model/encoder_load.h"
#include "engine/runtime/classifier.h"
#include "partition/ranks.h"
#include "partition/shard_writer.h"
#include "tests/support/compare.h"
#include "tests/support/golden.h"

namespace vkinfer {
namespace {

using testing::model_dir;

// Inputs of several lengths, so that there are several forwards to share
// between replicas (batch 2, buckets 8 and 16).
std::vector<EncoderInput> inputs() {
  std::vector<EncoderInput> out;
  for (int n : {3, 7, 12, 5, 14, 4, 9}) {
    EncoderInput input;
    input.ids.push_back(2);
    for (int i = 0; i < n; ++i) input.ids.push_back(5 + (i * 11 + n) % 40);
    input.ids.push_back(3);
    out.push_back(input);
  }
  return out;
}

std::vector<float> classify_grid(const std::string& dir, int tp, int dp) {
  RankOptions options;
  options.tp = tp;
  options.dp = dp;
  options.devices.assign(tp * dp, 0);
  std::vector<float> logits;
  std::mutex mutex;
  const std::vector<EncoderInput> request = inputs();
  run_ranks(options, [&](RankContext& rank) {
    auto encoder = load_encoder(dir, rank.device, rank.comm, DType::kF32, {2, {8, 16}});
    vk::CommandStream stream(rank.device);
    encoder->warm_up(stream);
    const auto results = classify_on_rank(*encoder, stream, rank.dp, rank.coord.replica, request, 2);
    std::vector<float> mine;
    for (const Classification& r : results) mine.insert(mine.end(), r.logits.begin(), r.logits.end());
    std::lock_guard<std::mutex> lock(mutex);
    // Every rank holds every result; they must agree exactly.
    if (logits.empty()) logits = mine;
    else EXPECT_EQ(logits, mine) << "ranks disagree";
  });
  return logits;
}

TEST(ClassifyParallel, TensorParallelGridEqualsOneRank) {
  for (const auto& [name, tp] : std::vector<std::pair<std::string, int>>{{"bert", 3}, {"bert2", 2}}) {
    SCOPED_TRACE(name);
    const std::vector<float> single = classify_grid(model_dir(name), 1, 1);
    ASSERT_EQ(single.size(), inputs().size() * ModelConfig::load(model_dir(name)).bert().num_labels);
    EXPECT_CLOSE(single, classify_grid(model_dir(name), tp, 1), 1e-5, 0.0) << "tp " << tp;
    EXPECT_CLOSE(single, classify_grid(model_dir(name), 1, 2), 0.0, 0.0) << "dp 2";
    EXPECT_CLOSE(single, classify_grid(model_dir(name), tp, 2), 1e-5, 0.0) << "dp 2 x tp " << tp;
  }
}

TEST(ClassifyParallel, EncoderShardsLoadLikeTheFolder) {
  const auto out = std::filesystem::temp_directory_path() / ("vkinfer_bert_shard_" + std::to_string(getpid()));
  std::filesystem::remove_all(out);
  write_shards(model_dir("bert"), 3, out, DType::kF32);
  // Same slices, same arithmetic: bit-identical.
  EXPECT_CLOSE(classify_grid(model_dir("bert"), 3, 1), classify_grid(out.string(), 3, 1), 0.0, 0.0);
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace vkinfer
