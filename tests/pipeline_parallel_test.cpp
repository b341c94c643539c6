// Pipeline parallelism through the Engine on logical devices of one physical
// device: every decoder golden, cut into 2 stages (and 3 where it has three
// layers), and 2 stages x tp 2, gives the greedy tokens of transformers and
// prefill logits within 1e-4 of one stage; several prompts cut into
// microbatches give each prompt's own tokens. Bad pipeline shapes are one
// clear error each.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <unistd.h>

#include "engine/core/error.h"
#include "engine/model/config.h"
#include "engine/model/load_decoder.h"
#include "engine/runtime/generator.h"
#include "engine/io/checkpoint.h"
#include "partition/ranks.h"
#include "partition/shard_writer.h"
#include "tests/support/compare.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::load_golden;
using testing::model_dir;

struct PipelineRun {
  int tp = 1, pp = 1, microbatches = 1;
  std::vector<int64_t> cuts;  // empty: even stages
};

GenerateResult generate_pp(const std::string& dir, const PipelineRun& run,
                           const std::vector<std::vector<int32_t>>& prompts, int64_t tokens, bool logits) {
  RankOptions options;
  options.tp = run.tp;
  options.pp = run.cuts.empty() ? run.pp : static_cast<int>(run.cuts.size()) + 1;
  options.devices.assign(options.tp * options.pp, 0);  // logical devices on the one physical device
  const int64_t layers = ModelConfig::load(dir).decoder().num_layers;
  const std::vector<StageRange> stages =
      run.cuts.empty() ? plan_stages(layers, options.pp) : plan_stages(layers, run.cuts);
  GenerateResult result;
  std::mutex mutex;
  run_ranks(options, [&](RankContext& rank) {
    DecoderLimits limits;
    limits.batch = static_cast<int64_t>(prompts.size());
    limits.max_rows_per_seq = 128;
    limits.all_logits = logits;
    limits.ctx = testing::golden_ctx(dir);
    const StageRange& stage = stages.at(rank.coord.stage);
    auto decoder = load_decoder(dir, rank.device, rank.comm, DType::kF32, limits, stage);
    Engine engine(*decoder, {&rank.pp, run.microbatches});
    Generator generator(engine);
    GenerateOptions generate;
    generate.max_new_tokens = tokens;
    generate.ignore_eos = true;
    generate.want_prefill_logits = logits;
    GenerateResult local = generator.run(prompts, generate);
    // Every stage ends with the same tokens (broadcast from the last).
    if (rank.comm.rank() == 0 && stage.has_head) {
      std::lock_guard<std::mutex> lock(mutex);
      result = std::move(local);
    }
  });
  return result;
}

class PipelineParallel : public ::testing::TestWithParam<std::string> {};

TEST_P(PipelineParallel, MatchesOneStage) {
  const std::string name = GetParam();
  const std::string dir = model_dir(name);
  const auto golden = load_golden(name);
  const auto& c = golden["cases"][1];
  const auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
  const auto expected = c["greedy_ids"].get<std::vector<int32_t>>();
  const GenerateResult single = generate_pp(dir, {}, {prompt}, expected.size(), true);
  ASSERT_EQ(single.sequences[0].new_ids, expected);
  const DecoderConfig config = ModelConfig::load(dir).decoder();
  std::vector<PipelineRun> runs = {{1, 2}};
  if (config.num_layers >= 3) runs.push_back({1, 3});
  if (config.num_heads % 2 == 0 && (config.num_kv_heads % 2 == 0 || 2 % config.num_kv_heads == 0))
    runs.push_back({2, 2});
  for (const PipelineRun& run : runs) {
    SCOPED_TRACE(::testing::Message() << name << " pp " << run.pp << " tp " << run.tp);
    const GenerateResult split = generate_pp(dir, run, {prompt}, expected.size(), true);
    EXPECT_EQ(split.sequences[0].new_ids, expected);
    // Stages move hidden rows bit for bit; only tp reorders sums (1e-4 as
    // in tensor_parallel_test).
    EXPECT_CLOSE(single.prefill_logits, split.prefill_logits, 1e-4, 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, PipelineParallel,
                         ::testing::Values("gpt2", "llama", "llama_tied", "opt", "opt_postln", "gptj",
                                           "gpt_neox", "gpt_neox_seq", "llama_rope_dynamic",
                                           "gpt2_layer_scaled", "llama3_rope", "qwen2", "qwen2_tied", "mistral", "gemma", "phi3"));

// Microbatches split a step's sequences; each keeps the tokens it gets at
// pp 1, and explicit cuts equal even ones.
TEST(PipelineParallel, MicrobatchesAndCutsKeepEachSequencesTokens) {
  const std::string dir = model_dir("gpt2_layer_scaled");
  const std::vector<std::vector<int32_t>> prompts = {{5, 17, 3}, {29, 11, 7, 2, 19}, {4}, {8, 9, 10, 11}};
  const GenerateResult single = generate_pp(dir, {}, prompts, 6, false);
  for (int microbatches : {2, 3, 4}) {
    const GenerateResult split = generate_pp(dir, {1, 3, microbatches}, prompts, 6, false);
    for (size_t i = 0; i < prompts.size(); ++i)
      EXPECT_EQ(split.sequences[i].new_ids, single.sequences[i].new_ids)
          << "microbatches " << microbatches << ", prompt " << i;
  }
  const GenerateResult cut = generate_pp(dir, {1, 0, 2, {2}}, prompts, 6, false);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(cut.sequences[i].new_ids, single.sequences[i].new_ids);
}

// `vkinfer shard --pp`: one folder per (stage, rank), each holding only its
// stage's tensors, loads to the same tokens as the Hugging Face folder; a
// run cut elsewhere is refused with the shard's cut named.
TEST(PipelineParallel, StagedShardsHoldOnlyTheirStage) {
  const std::string dir = model_dir("opt_postln");  // 3 layers
  const auto out = std::filesystem::temp_directory_path() / ("vkinfer_pp_shard_" + std::to_string(getpid()));
  std::filesystem::remove_all(out);
  write_shards(dir, 1, out, DType::kF32, plan_stages(3, 3));
  for (int s = 0; s < 3; ++s) {
    const Checkpoint shard = Checkpoint::open(out / ("stage_" + std::to_string(s)) / "tp_rank_0");
    for (const std::string& name : shard.names())
      if (name.starts_with("layers.")) EXPECT_TRUE(name.starts_with("layers." + std::to_string(s) + ".")) << name;
    // OPT's learned positions go with the embedding; its tied head's table
    // is held by the first stage and again by the head's.
    EXPECT_EQ(shard.has("positions"), s == 0);
    EXPECT_EQ(shard.has("embed"), s != 1);
  }
  const std::vector<std::vector<int32_t>> prompt = {{5, 17, 3, 29}};
  const GenerateResult original = generate_pp(dir, {1, 3}, prompt, 6, false);
  EXPECT_EQ(generate_pp(out.string(), {1, 3}, prompt, 6, false).sequences[0].new_ids,
            original.sequences[0].new_ids);
  testing::expect_error([&] { generate_pp(out.string(), {1, 2}, prompt, 1, false); },
                        ErrorCode::kInvalidArgument, {"sharded into pipeline stages [0, 1) [1, 2) [2, 3)"});
  std::filesystem::remove_all(out);
}

TEST(PipelineParallel, BadShapesAreClearErrors) {
  const std::string dir = model_dir("llama");  // 2 layers
  using testing::expect_error;
  expect_error([&] { generate_pp(dir, {1, 3}, {{1, 2}}, 1, false); }, ErrorCode::kInvalidArgument,
               {"--pp 3 exceeds the model's 2 layers"});
  expect_error([] { plan_stages(4, std::vector<int64_t>{3, 2}); }, ErrorCode::kInvalidArgument,
               {"strictly increasing"});
  expect_error([] { plan_stages(4, std::vector<int64_t>{4}); }, ErrorCode::kInvalidArgument, {"outside [1, 3]"});
  expect_error([&] { generate_pp(dir, {1, 2, 0}, {{1, 2}}, 1, false); }, ErrorCode::kInvalidArgument,
               {"--microbatches must be >= 1"});
}

}  // namespace
}  // namespace vkinfer
