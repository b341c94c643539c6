// Independent sequences through the Engine and Scheduler: a sequence that
// joins while another is mid-decode, with a different prompt length and
// different sampling settings (greedy and seeded sampling), gets exactly the
// tokens it gets alone; more sequences than KV slots wait, then reuse a
// retired sequence's slot; prompts longer than a step's chunk prefill in
// pieces mixed with other sequences' decode rows. Also the Generator over
// more prompts than slots, and stop strings cut on streamed text.
#include <gtest/gtest.h>

#include <map>

#include "engine/core/error.h"
#include "engine/model/load_decoder.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/generator.h"
#include "engine/runtime/scheduler.h"
#include "engine/vk/command_stream.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::load_golden;
using testing::model_dir;
using testing::test_device;

struct Loaded {
  std::unique_ptr<Communicator> comm;
  std::unique_ptr<Decoder> decoder;
  std::unique_ptr<Engine> engine;
};

Loaded load(const std::string& name, int64_t slots, int64_t chunk) {
  Loaded out;
  out.comm = make_single_communicator();
  DecoderLimits limits;
  limits.batch = slots;
  limits.max_rows_per_seq = chunk;
  limits.ctx = testing::golden_ctx(model_dir(name));
  out.decoder = load_decoder(model_dir(name), test_device(), *out.comm, DType::kF32, limits);
  out.engine = std::make_unique<Engine>(*out.decoder);
  return out;
}

Sequence request(std::vector<int32_t> prompt, ops::SamplingParams sampling, int64_t new_tokens) {
  Sequence s;
  s.prompt = std::move(prompt);
  s.sampling = sampling;
  s.max_new_tokens = new_tokens;
  return s;
}

ops::SamplingParams seeded(uint64_t seed, float temperature, int top_k) {
  ops::SamplingParams p;
  p.greedy = false;
  p.temperature = temperature;
  p.top_k = top_k;
  p.top_p = 0.9f;
  p.repetition_penalty = 1.2f;
  p.seed = seed;
  return p;
}

// Runs steps until every submitted sequence finished (length only) or
// `steps` steps ran; returns the steps run. Records each step's plan size
// and rows.
int run_steps(Engine& engine, Scheduler& scheduler, int steps = -1, std::vector<size_t>* plan_sizes = nullptr,
              std::map<const Sequence*, int>* slots = nullptr, std::vector<int64_t>* step_rows = nullptr) {
  vk::CommandStream stream(test_device());
  int done = 0;
  while (done != steps) {
    std::vector<ScheduledRows> plan = scheduler.plan();
    if (plan.empty()) break;
    if (plan_sizes) plan_sizes->push_back(plan.size());
    if (step_rows) {
      int64_t rows = 0;
      for (const ScheduledRows& entry : plan) rows += entry.rows;
      step_rows->push_back(rows);
    }
    if (slots)
      for (const ScheduledRows& entry : plan) (*slots)[entry.sequence] = entry.sequence->slot;
    const std::vector<int32_t> tokens = engine.step(stream, plan);
    for (size_t k = 0; k < plan.size(); ++k) {
      Sequence& s = *plan[k].sequence;
      if (tokens[k] < 0) continue;
      s.generated.push_back(tokens[k]);
      if (static_cast<int64_t>(s.generated.size()) >= s.max_new_tokens) {
        s.finished = true;
        scheduler.retire(&s);
      }
    }
    ++done;
  }
  return done;
}

std::vector<int32_t> alone(Engine& engine, Sequence s) {
  Scheduler scheduler(engine.cache(), engine.max_rows(), engine.max_chunk());
  scheduler.submit(&s);
  run_steps(engine, scheduler);
  EXPECT_TRUE(s.finished);
  return s.generated;
}

class Sequences : public ::testing::TestWithParam<std::string> {};

TEST_P(Sequences, SecondSequenceJoiningMidDecodeGetsItsSoloTokens) {
  const auto golden = load_golden(GetParam());
  const auto short_prompt = golden["cases"][0]["prompt_ids"].get<std::vector<int32_t>>();
  const auto long_prompt = golden["cases"][1]["prompt_ids"].get<std::vector<int32_t>>();
  ASSERT_NE(short_prompt.size(), long_prompt.size());
  Loaded m = load(GetParam(), 3, 64);
  Engine& engine = *m.engine;

  Sequence greedy = request(short_prompt, ops::SamplingParams(), 12);
  Sequence sampled = request(long_prompt, seeded(11, 0.9f, 20), 10);
  const auto greedy_alone = alone(engine, greedy);
  const auto sampled_alone = alone(engine, sampled);
  // The greedy run is transformers' greedy continuation.
  auto expected = golden["cases"][0]["greedy_ids"].get<std::vector<int32_t>>();
  expected.resize(12);
  EXPECT_EQ(greedy_alone, expected);

  Scheduler scheduler(engine.cache(), engine.max_rows(), engine.max_chunk());
  scheduler.submit(&greedy);
  EXPECT_EQ(run_steps(engine, scheduler, 4), 4);  // prefill + 3 decode steps
  ASSERT_EQ(greedy.generated.size(), 4u);
  scheduler.submit(&sampled);  // its prefill runs in one step with greedy's decode row
  std::vector<size_t> plan_sizes;
  run_steps(engine, scheduler, -1, &plan_sizes);
  EXPECT_EQ(plan_sizes.front(), 2u);
  EXPECT_EQ(greedy.generated, greedy_alone);
  EXPECT_EQ(sampled.generated, sampled_alone);
  EXPECT_TRUE(scheduler.idle());
  EXPECT_EQ(engine.cache().free_slots(), 3);
}

TEST_P(Sequences, MoreSequencesThanSlotsWaitAndReuseARetiredSlot) {
  const auto golden = load_golden(GetParam());
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& c : golden["cases"]) prompts.push_back(c["prompt_ids"].get<std::vector<int32_t>>());
  for (const auto& p : golden["batch"]["prompts"]) prompts.push_back(p["prompt_ids"].get<std::vector<int32_t>>());
  // Two slots, chunks of 5 rows: long prompts prefill over several steps,
  // mixed with the other slot's decode rows.
  Loaded m = load(GetParam(), 2, 5);
  Engine& engine = *m.engine;
  std::vector<Sequence> sequences;
  for (size_t i = 0; i < 4; ++i) {
    const auto sampling = i % 2 ? seeded(100 + i, 0.7f + 0.1f * i, 0) : ops::SamplingParams();
    sequences.push_back(request(prompts[i % prompts.size()], sampling, 3 + 2 * int64_t(i)));
  }
  std::vector<std::vector<int32_t>> solo;
  for (const Sequence& s : sequences) solo.push_back(alone(engine, s));

  Scheduler scheduler(engine.cache(), engine.max_rows(), engine.max_chunk());
  for (Sequence& s : sequences) scheduler.submit(&s);
  run_steps(engine, scheduler, 1);
  EXPECT_EQ(scheduler.running().size(), 2u);
  EXPECT_EQ(scheduler.waiting(), 2u);
  std::map<const Sequence*, int> slots;
  slots[&sequences[0]] = sequences[0].slot;
  slots[&sequences[1]] = sequences[1].slot;
  run_steps(engine, scheduler, -1, nullptr, &slots);
  for (size_t i = 0; i < sequences.size(); ++i) EXPECT_EQ(sequences[i].generated, solo[i]) << "sequence " << i;
  EXPECT_EQ(engine.cache().free_slots(), 2);
  // The waiting ones ran in the slots the first two held (there are no others).
  EXPECT_NE(slots[&sequences[0]], slots[&sequences[1]]);
  for (size_t i = 2; i < 4; ++i)
    EXPECT_TRUE(slots[&sequences[i]] == slots[&sequences[0]] || slots[&sequences[i]] == slots[&sequences[1]]);
}

// A step budget below what the prompts want (the server's --step-tokens):
// every step carries the running sequences' decode rows and prefill chunks
// only up to the budget, so long prompts take several steps beside the
// others' decoding, and every sequence still gets its solo tokens.
TEST_P(Sequences, AStepRowBudgetBoundsEveryStep) {
  const auto golden = load_golden(GetParam());
  Loaded m = load(GetParam(), 3, 8);
  Engine& engine = *m.engine;
  std::vector<Sequence> sequences;
  size_t index = 0;
  for (const auto& c : golden["cases"])
    sequences.push_back(request(c["prompt_ids"].get<std::vector<int32_t>>(),
                                index++ % 2 ? seeded(7 + index, 0.8f, 0) : ops::SamplingParams(), 6));
  ASSERT_GE(sequences.size(), 3u);
  std::vector<std::vector<int32_t>> solo;
  for (const Sequence& s : sequences) solo.push_back(alone(engine, s));
  constexpr int64_t kBudget = 5;
  Scheduler scheduler(engine.cache(), kBudget, engine.max_chunk());
  for (Sequence& s : sequences) scheduler.submit(&s);
  std::vector<int64_t> step_rows;
  run_steps(engine, scheduler, -1, nullptr, nullptr, &step_rows);
  ASSERT_FALSE(step_rows.empty());
  for (size_t step = 0; step < step_rows.size(); ++step) EXPECT_LE(step_rows[step], kBudget) << "step " << step;
  for (size_t i = 0; i < sequences.size(); ++i) EXPECT_EQ(sequences[i].generated, solo[i]) << "sequence " << i;
  EXPECT_EQ(engine.cache().free_slots(), 3);
}

INSTANTIATE_TEST_SUITE_P(Families, Sequences,
                         ::testing::Values("gpt2", "llama", "opt", "gpt_neox", "llama_rope_dynamic"));

TEST(Sequences, GeneratorOverMorePromptsThanSlotsMatchesSoloRuns) {
  const auto golden = load_golden("llama");
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> expected;
  for (const auto& p : golden["batch"]["prompts"]) {
    prompts.push_back(p["prompt_ids"].get<std::vector<int32_t>>());
    expected.push_back(p["greedy_ids"].get<std::vector<int32_t>>());
  }
  ASSERT_GE(prompts.size(), 2u);
  Loaded m = load("llama", 1, 16);  // one slot: the prompts run one after another
  Generator generator(*m.engine);
  GenerateOptions options;
  options.max_new_tokens = static_cast<int64_t>(expected[0].size());
  options.ignore_eos = true;
  GenerateResult result = generator.run(prompts, options);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(result.sequences[i].new_ids, expected[i]) << i;
}

// Dynamic rope_scaling past max_position_embeddings (24): prompts of
// different lengths in one step batch each take the rotary base of their
// own length when not emulating transformers' batch, so each gets
// transformers' solo answer; emulating it, transformers' batch answer.
TEST(Sequences, DynamicRopeBasePerSequence) {
  const auto golden = load_golden("llama_rope_dynamic");
  std::vector<std::vector<int32_t>> prompts, solo, batch;
  for (const auto& p : golden["batch"]["prompts"]) {
    prompts.push_back(p["prompt_ids"].get<std::vector<int32_t>>());
    solo.push_back(p["greedy_ids"].get<std::vector<int32_t>>());
    batch.push_back(p.value("batch_greedy_ids", p["greedy_ids"]).get<std::vector<int32_t>>());
  }
  ASSERT_NE(solo, batch) << "the golden should tell the two apart";
  Loaded m = load("llama_rope_dynamic", static_cast<int64_t>(prompts.size()), 64);
  Generator generator(*m.engine);
  GenerateOptions options;
  options.max_new_tokens = static_cast<int64_t>(solo[0].size());
  options.ignore_eos = true;
  options.batch_rope_like_transformers = false;
  GenerateResult own = generator.run(prompts, options);
  options.batch_rope_like_transformers = true;
  GenerateResult like_batch = generator.run(prompts, options);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(own.sequences[i].new_ids, solo[i]) << i;
    EXPECT_EQ(like_batch.sequences[i].new_ids, batch[i]) << i;
  }
}

TEST(Sequences, SlotsAreHeldOnceAndLengthsBounded) {
  Loaded m = load("gpt2", 2, 8);
  KvCache& cache = m.engine->cache();
  const int a = cache.acquire(), b = cache.acquire();
  EXPECT_NE(a, b);
  EXPECT_EQ(cache.acquire(), -1);
  cache.advance(a, 3);
  EXPECT_EQ(cache.length(a), 3);
  EXPECT_THROW(cache.advance(a, cache.ctx()), Error);
  cache.release(a);
  EXPECT_THROW(cache.length(a), Error);
  EXPECT_EQ(cache.acquire(), a);
  EXPECT_EQ(cache.length(a), 0);
  cache.release(a);
  cache.release(b);
}

TEST(Sequences, StopStringEndsSequence) {
  EXPECT_EQ(stop_string_end("abc STOP def", {"STOP"}), 8u);
  EXPECT_EQ(stop_string_end("abc STOP def", {"def", "STOP"}), 8u);
  EXPECT_EQ(stop_string_end("abc", {"x", ""}), std::string::npos);
}

}  // namespace
}  // namespace vkinfer
