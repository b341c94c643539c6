// The decoder as pipeline stages: a model cut at layer boundaries into
// stages on one device, each holding only its layers (the first also the
// embeddings, the last the final norm and head), with the hidden rows handed
// from stage to stage, gives exactly the whole model's logits for a prefill
// and the decode steps after it. Exactly: every stage runs the same kernels
// on the same rows as the whole model, so no sum is reordered.
#include <gtest/gtest.h>

#include "engine/model/load_decoder.h"
#include "engine/model/rank_plan.h"
#include "engine/vk/command_stream.h"
#include "engine/vk/device.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::model_dir;
using testing::test_device;

DecoderLimits limits_for(const std::string& name) {
  DecoderLimits limits;
  limits.batch = 1;
  limits.max_rows_per_seq = 8;
  limits.ctx = testing::golden_ctx(model_dir(name));
  return limits;
}

StepBatch step_of(std::vector<int32_t> ids) {
  StepBatch step;
  step.sequences.push_back({0, static_cast<int64_t>(ids.size())});
  step.ids = std::move(ids);
  return step;
}

// Logits of a prefill of `prompt` and then one decode step per `next` id.
std::vector<std::vector<float>> run_whole(Decoder& decoder, const std::vector<int32_t>& prompt,
                                          const std::vector<int32_t>& next) {
  KvCache cache = decoder.make_cache();
  EXPECT_EQ(cache.acquire(), 0);
  vk::CommandStream stream(test_device());
  std::vector<std::vector<float>> out;
  std::vector<std::vector<int32_t>> steps{prompt};
  for (int32_t id : next) steps.push_back({id});
  for (const auto& ids : steps) {
    decoder.forward(stream, cache, step_of(ids));
    stream.finish();
    out.push_back(decoder.logits().download(test_device()));
  }
  return out;
}

std::vector<std::vector<float>> run_stages(std::vector<std::unique_ptr<Decoder>>& stages,
                                           const std::vector<int32_t>& prompt,
                                           const std::vector<int32_t>& next) {
  std::vector<KvCache> caches;
  for (auto& stage : stages) {
    caches.push_back(stage->make_cache());
    EXPECT_EQ(caches.back().acquire(), 0);
  }
  vk::CommandStream stream(test_device());
  std::vector<std::vector<float>> out;
  std::vector<std::vector<int32_t>> steps{prompt};
  for (int32_t id : next) steps.push_back({id});
  for (const auto& ids : steps) {
    const StepBatch step = step_of(ids);
    for (size_t s = 0; s < stages.size(); ++s) {
      if (s > 0) {
        // The previous stage's output rows are this stage's input rows.
        const uint64_t bytes = ids.size() * stages[s]->config().hidden_size * 4;
        stream.copy(stages[s - 1]->hidden().buffer, 0, stages[s]->hidden().buffer, 0, bytes);
        stream.finish();
      }
      stages[s]->forward(stream, caches[s], step);
      stream.finish();
    }
    out.push_back(stages.back()->logits().download(test_device()));
  }
  return out;
}

class Stages : public ::testing::TestWithParam<const char*> {};

TEST_P(Stages, CutModelEqualsWholeModel) {
  const std::string name = GetParam();
  auto comm = make_single_communicator();
  const DecoderLimits limits = limits_for(name);
  auto whole = load_decoder(model_dir(name), test_device(), *comm, DType::kF32, limits);
  const int64_t layers = whole->config().num_layers;
  const std::vector<int32_t> prompt = {5, 17, 3, 29, 11}, next = {7, 2, 19};
  const auto expected = run_whole(*whole, prompt, next);

  // Every cut a model of this depth has: after each layer, and (3 layers)
  // one stage per layer.
  std::vector<std::vector<StageRange>> plans;
  for (int64_t cut = 1; cut < layers; ++cut) plans.push_back(plan_stages(layers, std::vector<int64_t>{cut}));
  if (layers >= 3) plans.push_back(plan_stages(layers, static_cast<int>(layers)));
  for (const auto& plan : plans) {
    SCOPED_TRACE(::testing::Message() << plan.size() << " stages, the second from layer "
                                      << plan[1].first_layer);
    std::vector<std::unique_ptr<Decoder>> stages;
    for (const StageRange& range : plan)
      stages.push_back(load_decoder(model_dir(name), test_device(), *comm, DType::kF32, limits, range));
    EXPECT_TRUE(stages.front()->stage().has_embedding);
    EXPECT_FALSE(stages.front()->stage().has_head);
    EXPECT_TRUE(stages.back()->stage().has_head);
    uint64_t stage_bytes = 0;
    for (const auto& stage : stages) stage_bytes += stage->weight_bytes();
    // Only a tied head is held twice (the table by the first stage, the head
    // by the last).
    EXPECT_GE(stage_bytes, whole->weight_bytes());
    if (!whole->config().tie_word_embeddings) EXPECT_EQ(stage_bytes, whole->weight_bytes());
    const auto got = run_stages(stages, prompt, next);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "step " << i;
  }
}

// GPT-2 (tied head, learned positions), its layer-index attention scaling,
// Llama (RMSNorm, rotary) untied and tied, OPT (project_in/out) and its
// post-norm variant, GPT-J and GPT-NeoX (parallel residual).
INSTANTIATE_TEST_SUITE_P(Families, Stages,
                         ::testing::Values("gpt2", "gpt2_layer_scaled", "llama", "llama_tied", "opt",
                                           "opt_postln", "gptj", "gpt_neox", "gemma", "phi3"));

TEST(Stages, PlanChargesEachStageOnlyItsOwnWeights) {
  const ModelConfig model = ModelConfig::load(model_dir("gpt2_layer_scaled"));
  const DecoderConfig& config = model.decoder();
  const RankShape shape = plan_decoder(config, {0, 1});
  const uint64_t whole = decoder_weight_bytes(config, shape, DType::kF32, plan_stages(3, 1)[0]);
  uint64_t parts = 0;
  for (const StageRange& range : plan_stages(3, 3))
    parts += decoder_weight_bytes(config, shape, DType::kF32, range);
  // The tied table is charged to the first stage and again to the last.
  const uint64_t table = uint64_t(shape.vocab_local) * ((config.hidden_size + 7) / 8 * 8) * 4;
  EXPECT_EQ(parts, whole + table);
  const DecoderLimits limits = limits_for("gpt2_layer_scaled");
  const uint64_t one_layer = decoder_runtime_bytes(config, shape, limits, plan_stages(3, 3)[1]);
  EXPECT_LT(one_layer, decoder_runtime_bytes(config, shape, limits, plan_stages(3, 1)[0]));
}

}  // namespace
}  // namespace vkinfer
