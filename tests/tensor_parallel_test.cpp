// Tensor parallelism on logical devices of one physical device: tp = 2, 3, 4
// (whichever divide the model's heads and MLP width) give the same greedy
// tokens as transformers and prefill logits within 1e-4 of tp = 1, and
// per-rank shard folders round-trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "engine/core/error.h"
#include "engine/runtime/generator.h"
#include "engine/model/config.h"
#include "engine/model/load_decoder.h"
#include "partition/ranks.h"
#include "partition/shard_writer.h"
#include "tests/support/compare.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::load_golden;
using testing::model_dir;

GenerateResult generate_tp(const std::string& dir, int tp, const std::vector<int32_t>& prompt,
                           int64_t tokens, bool logits) {
  RankOptions options;
  options.tp = tp;
  options.devices.assign(tp, 0);  // logical devices on the one physical device
  GenerateResult result;
  std::mutex mutex;
  run_ranks(options, [&](RankContext& rank) {
    DecoderLimits limits;
    limits.batch = 1;
    limits.max_rows_per_seq = 128;
    limits.all_logits = logits;
    limits.ctx = testing::golden_ctx(dir);
    auto decoder = load_decoder(dir, rank.device, rank.comm, DType::kF32, limits);
    Engine engine(*decoder);
    Generator generator(engine);
    GenerateOptions generate;
    generate.max_new_tokens = tokens;
    generate.ignore_eos = true;
    generate.want_prefill_logits = logits;
    GenerateResult local = generator.run({prompt}, generate);
    if (rank.comm.rank() == 0) {
      std::lock_guard<std::mutex> lock(mutex);
      result = std::move(local);
    }
  });
  return result;
}

std::vector<int> tp_degrees(const std::string& name) {
  const DecoderConfig config = ModelConfig::load(model_dir(name)).decoder();
  std::vector<int> out;
  for (int tp : {2, 3, 4})
    if (config.num_heads % tp == 0 &&
        (config.num_kv_heads % tp == 0 || tp % config.num_kv_heads == 0))
      out.push_back(tp);
  return out;
}

class TensorParallel : public ::testing::TestWithParam<std::string> {};

TEST_P(TensorParallel, MatchesSingleRank) {
  const std::string name = GetParam();
  const auto golden = load_golden(name);
  const auto& c = golden["cases"][1];
  const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
  const auto expected = c["greedy_ids"].get<std::vector<int32_t>>();
  const GenerateResult single = generate_tp(model_dir(name), 1, prompt, expected.size(), true);
  ASSERT_EQ(single.sequences[0].new_ids, expected);
  const auto degrees = tp_degrees(name);
  ASSERT_FALSE(degrees.empty()) << name << " cannot be split at tp 2, 3 or 4";
  for (int tp : degrees) {
    const GenerateResult split = generate_tp(model_dir(name), tp, prompt, expected.size(), true);
    EXPECT_EQ(split.sequences[0].new_ids, expected) << name << " tp " << tp;
    // Only the order of the partial sums differs from tp = 1 (per-rank
    // matmul halves added by the all-reduce): ~1e-6 here, 1e-4 is the bound.
    EXPECT_CLOSE(single.prefill_logits, split.prefill_logits, 1e-4, 0.0) << name << " tp " << tp;
  }
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, TensorParallel,
                         ::testing::Values("gpt2", "llama", "llama_tied", "opt", "opt_postln", "gptj",
                                           "gpt_neox", "gpt_neox_seq", "llama_rope_dynamic",
                                           "gpt2_layer_scaled", "llama3_rope", "qwen2", "qwen2_tied", "mistral", "gemma", "phi3"));

TEST(TensorParallel, HeadsNotDivisibleIsAClearError) {
  try {
    generate_tp(model_dir("gpt2"), 2, {1, 2, 3}, 1, false);  // 3 heads
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("3 attention heads"), std::string::npos) << e.what();
  }
}

// Writes `name`'s tp 2 shards to `out` and checks they generate exactly what
// the Hugging Face folder does at tp 2.
void expect_shards_equal_folder(const std::string& name, const std::filesystem::path& out) {
  const auto golden = load_golden(name);
  const auto prompt = golden["cases"][0]["prompt_ids"].get<std::vector<int32_t>>();
  const auto expected = golden["cases"][0]["greedy_ids"].get<std::vector<int32_t>>();
  std::filesystem::remove_all(out);
  write_shards(model_dir(name), 2, out, DType::kF32);
  EXPECT_TRUE(std::filesystem::exists(out / "tp_rank_0" / "model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(out / "tp_rank_1" / "model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(out / "tokenizer.json"));
  const GenerateResult sharded = generate_tp(out.string(), 2, prompt, expected.size(), true);
  EXPECT_EQ(sharded.sequences[0].new_ids, expected) << name;
  const GenerateResult original = generate_tp(model_dir(name), 2, prompt, expected.size(), true);
  // Same slices, same arithmetic: the shard path must be bit-identical.
  EXPECT_CLOSE(original.prefill_logits, sharded.prefill_logits, 0.0, 0.0) << name;
}

// Gemma's norm gains (1 + w: shards keep w) and Phi-3's fused qkv and
// gate_up tensors (sliced per rank) round-trip too.
TEST(TensorParallel, ShardsOfEveryWeightLayoutRoundTrip) {
  for (const char* name : {"gemma", "phi3"}) {
    const auto out = std::filesystem::temp_directory_path() /
                     ("vkinfer_shard_test_" + std::string(name) + std::to_string(getpid()));
    expect_shards_equal_folder(name, out);
    std::filesystem::remove_all(out);
  }
}

TEST(TensorParallel, ShardRoundTrip) {
  const auto golden = load_golden("llama");
  const auto prompt = golden["cases"][0]["prompt_ids"].get<std::vector<int32_t>>();
  const auto out = std::filesystem::temp_directory_path() / ("vkinfer_shard_test_" + std::to_string(getpid()));
  expect_shards_equal_folder("llama", out);
  // Loaded with the wrong tp: a clear error that says which tp to use.
  try {
    generate_tp(out.string(), 4, prompt, 1, false);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sharded for tp 2"), std::string::npos) << e.what();
  }
  std::filesystem::remove(out / "tp_rank_1" / "model.safetensors");
  try {
    generate_tp(out.string(), 2, prompt, 1, false);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace vkinfer
