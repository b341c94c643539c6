// The request path allocates nothing and creates no pipelines (DESIGN.md):
// after a model has loaded, a prefill plus 32 decode steps, or an encoder
// forward in any bucket, must leave the device's pipeline and memory
// counters where loading left them. Each test opens its own device, so
// what other tests in this binary loaded cannot hide a miss.
#include <gtest/gtest.h>

#include "engine/model/encoder_load.h"
#include "engine/model/load_decoder.h"
#include "engine/ops/elementwise.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/generator.h"
#include "engine/runtime/scheduler.h"
#include "engine/vk/device.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::model_dir;

struct Counters {
  uint64_t pipelines, allocations, bytes, suballocations;
  explicit Counters(const vk::Device& device)
      : pipelines(device.pipelines_created()),
        allocations(device.memory_allocations()),
        bytes(device.memory_allocated_bytes()),
        suballocations(device.buffer_suballocations()) {}
};

void expect_unchanged(const Counters& before, const vk::Device& device, const std::string& what) {
  const Counters after(device);
  EXPECT_EQ(after.pipelines, before.pipelines) << what << " created pipelines";
  EXPECT_EQ(after.allocations, before.allocations) << what << " called vkAllocateMemory";
  EXPECT_EQ(after.bytes, before.bytes) << what << " allocated device memory";
  EXPECT_EQ(after.suballocations, before.suballocations) << what << " created buffers";
}

std::vector<int32_t> prompt_of(int64_t length, int32_t vocab) {
  std::vector<int32_t> ids(length);
  for (int64_t i = 0; i < length; ++i) ids[i] = static_cast<int32_t>((i * 7 + 3) % vocab);
  return ids;
}

struct DecoderCase {
  std::string model;
  int64_t batch;
  bool staged = false;  // host copies through the device's staging buffers (discrete GPUs)
};

class RequestPath : public ::testing::TestWithParam<DecoderCase> {};

// Prompt lengths that land in every row class: short ones, and one longer
// than a prefill chunk. With several slots the prompts differ in length, so
// steps mix one sequence's prefill chunk with others' decode rows.
TEST_P(RequestPath, DecoderPrefillAndDecodeCreateNothing) {
  const DecoderCase& c = GetParam();
  vk::DeviceOptions device_options;
  device_options.staged_transfers = c.staged;
  auto device = vk::Device::create(testing::test_instance(), 0, device_options);
  if (c.staged) EXPECT_FALSE(device->unified_memory());
  auto comm = make_single_communicator();
  DecoderLimits limits;
  limits.batch = c.batch;
  limits.max_rows_per_seq = 32;
  limits.ctx = 96;
  auto decoder = load_decoder(model_dir(c.model), *device, *comm, DType::kF32, limits);
  Engine engine(*decoder);
  Generator generator(engine);
  EXPECT_TRUE(device->sealed());
  EXPECT_GT(engine.pipelines_built(), 0u);
  const int32_t vocab = static_cast<int32_t>(decoder->config().vocab_size);

  for (int64_t length : {1, 3, 5, 9, 16, 20, 45}) {
    GenerateOptions options;
    options.max_new_tokens = 33;  // the prefill's token and 32 decode steps
    options.ignore_eos = true;
    if (length % 2) {  // sampling kernels with top-k/top-p, the others greedy
      options.sampling.temperature = 0.8f;
      options.sampling.top_k = 7;
      options.sampling.top_p = 0.9f;
      options.sampling.seed = 11;
    }
    std::vector<std::vector<int32_t>> prompts;
    for (int64_t b = 0; b < c.batch; ++b) prompts.push_back(prompt_of(length + 2 * b, vocab));
    const Counters before(*device);
    GenerateResult result = generator.run(prompts, options);
    expect_unchanged(before, *device, c.model + ", prompt of " + std::to_string(length));
    ASSERT_EQ(result.sequences[0].new_ids.size(), 33u);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, RequestPath,
                         ::testing::Values(DecoderCase{"gpt2", 1}, DecoderCase{"gpt2", 3},
                                           DecoderCase{"llama", 1}, DecoderCase{"opt", 2},
                                           DecoderCase{"gpt2", 2, true}),
                         [](const auto& info) {
                           return info.param.model + "_batch" + std::to_string(info.param.batch) +
                                  (info.param.staged ? "_staged" : "");
                         });

// Logprob requests add one dispatch of the candidates pipeline the warm-up
// built, into buffers made at load: they create nothing either. Two
// sequences (one greedy with 20 alternatives, one sampled with 0) share
// steps, and every reported record names the token the step sampled.
TEST(RequestPath, LogprobsCreateNothing) {
  auto device = vk::Device::create(testing::test_instance(), 0, {});
  auto comm = make_single_communicator();
  DecoderLimits limits;
  limits.batch = 2;
  limits.max_rows_per_seq = 32;
  limits.ctx = 96;
  auto decoder = load_decoder(model_dir("llama"), *device, *comm, DType::kF32, limits);
  Engine engine(*decoder);
  const int32_t vocab = static_cast<int32_t>(decoder->config().vocab_size);
  Scheduler scheduler(engine.cache(), engine.max_rows(), engine.max_chunk());
  Sequence a, b;
  a.prompt = prompt_of(9, vocab);
  a.logprobs = 20;
  b.prompt = prompt_of(40, vocab);
  b.logprobs = 0;
  b.sampling = {false, 0.8f, 7, 0.9f, 1.2f, 3};
  for (Sequence* s : {&a, &b}) {
    s->max_new_tokens = 12;
    scheduler.submit(s);
  }
  const Counters before(*device);
  vk::CommandStream stream(*device);
  int reported = 0;
  while (!scheduler.idle()) {
    const std::vector<ScheduledRows> plan = scheduler.plan();
    const std::vector<int32_t> tokens = engine.step(stream, plan);
    for (size_t k = 0; k < plan.size(); ++k) {
      if (tokens[k] < 0) continue;
      Sequence& s = *plan[k].sequence;
      const ops::TokenLogprobs& lp = engine.logprobs()[k];
      EXPECT_EQ(lp.chosen.id, tokens[k]);
      EXPECT_LE(lp.chosen.logprob, 0.0f);
      EXPECT_EQ(lp.count, s.logprobs);
      ++reported;
      s.generated.push_back(tokens[k]);
      if (static_cast<int64_t>(s.generated.size()) >= s.max_new_tokens) {
        s.finished = true;
        scheduler.retire(&s);
      }
    }
  }
  EXPECT_EQ(reported, 24);
  expect_unchanged(before, *device, "logprob requests");
}

// The staged copies carry the same bytes: a greedy run through them gives
// the tokens a run on mapped memory gives.
TEST(RequestPath, StagedTransfersGiveTheSameTokens) {
  std::vector<std::vector<int32_t>> runs;
  for (bool staged : {false, true}) {
    vk::DeviceOptions options;
    options.staged_transfers = staged;
    auto device = vk::Device::create(testing::test_instance(), 0, options);
    auto comm = make_single_communicator();
    DecoderLimits limits;
    limits.max_rows_per_seq = 16;
    limits.ctx = 64;
    auto decoder = load_decoder(model_dir("llama"), *device, *comm, DType::kF32, limits);
    Engine engine(*decoder);
    Generator generator(engine);
    GenerateOptions generate;
    generate.max_new_tokens = 12;
    generate.ignore_eos = true;
    runs.push_back(generator.run({prompt_of(9, 50)}, generate).sequences[0].new_ids);
  }
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(RequestPath, EncoderForwardCreatesNothing) {
  auto device = vk::Device::create(testing::test_instance(), 0);
  auto comm = make_single_communicator();
  auto encoder = load_encoder(model_dir("bert"), *device, *comm, DType::kF32, {3, {5, 16, 24}});
  EXPECT_TRUE(device->sealed());
  vk::CommandStream stream(*device);
  encoder->warm_up(stream);  // grows this stream's descriptor pools, as Classifier does
  const Counters before(*device);
  for (size_t bucket = 0; bucket < 3; ++bucket)
    for (int64_t count = 1; count <= 3; ++count) {
      EncoderInput input{std::vector<int32_t>(encoder->bucket_length(bucket) - 1, 5), {}};
      std::vector<const EncoderInput*> inputs(static_cast<size_t>(count), &input);
      EXPECT_EQ(encoder->classify(stream, bucket, inputs).size(),
                static_cast<size_t>(count * encoder->config().num_labels));
    }
  expect_unchanged(before, *device, "BERT classify");
}

// Sealing makes the invariant enforceable: a kernel nobody prepared is an
// internal error naming it, and a LoadScope (a later load) lifts the seal.
TEST(RequestPath, SealedDeviceRefusesNewPipelines) {
  auto device = vk::Device::create(testing::test_instance(), 0);
  device->seal();
  vk::Buffer a = vk::Buffer::create(*device, 64, vk::MemoryKind::kDevice);
  vk::Buffer y = vk::Buffer::create(*device, 64, vk::MemoryKind::kDevice);
  vk::CommandStream stream(*device);
  ops::ElementwiseArgs args;
  args.a = ops::View(a, 0, 16);
  args.y = ops::View(y, 0, 16);
  args.M = 1;
  args.N = 16;
  testing::expect_error([&] { ops::elementwise(stream, args); }, ErrorCode::kInternal,
                        {"elementwise", "not prepared at load"});
  const uint64_t before = device->pipelines_created();
  {
    vk::Device::LoadScope loading(*device);
    ops::elementwise(stream, args);
  }
  stream.finish();
  EXPECT_EQ(device->pipelines_created(), before + 1);
  ops::elementwise(stream, args);  // prepared now: a lookup
  stream.finish();
  EXPECT_EQ(device->pipelines_created(), before + 1);
}

}  // namespace
}  // namespace vkinfer
