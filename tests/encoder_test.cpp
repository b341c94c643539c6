// BERT sequence classification against transformers' goldens
// (tests/data/golden/bert*.json): every case in its bucket, the padded batch,
// bucket invariance, fp16 labels and data-parallel replicas.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/core/error.h"
#include "engine/runtime/classifier.h"
#include "engine/model/encoder_load.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_data_dir;
using testing::test_device;

// fp32 end to end; transformers sums in another order (fused attention,
// K-blocked matmuls, erf GELU in the epilogue). Logits are O(1); the errors
// we see are ~1e-6, and the bound is 1e-4.
constexpr double kGoldenAtol = 1e-4;
// The same sequence in two buckets: only the padded keys differ and they get
// exactly zero weight, but the tiled matmul may split rows differently.
constexpr double kBucketAtol = 1e-5;
// Small buckets so the tiny models' cases land in different ones (3, 17, 20,
// 26 | 40, 63, 100 | 130), plus max_position_embeddings for the longest.
const std::vector<int64_t> kSmallBuckets = {8, 32, 128};

nlohmann::json load_golden(const std::string& name) {
  std::ifstream file(test_data_dir() + "/golden/" + name + ".json");
  return nlohmann::json::parse(file);
}

std::string model_dir(const std::string& name) { return test_data_dir() + "/models/" + name; }

struct Golden {
  EncoderInput input;
  std::vector<float> logits;
  std::string name;
};

// Single cases plus each row of the batch case with its padding removed.
std::vector<Golden> golden_cases(const nlohmann::json& golden) {
  std::vector<Golden> out;
  for (const auto& c : golden["cases"])
    out.push_back({{c["input_ids"].get<std::vector<int32_t>>(), c["token_type_ids"].get<std::vector<int32_t>>()},
                   c["logits"].get<std::vector<float>>(), c["name"].get<std::string>()});
  const auto& batch = golden["batch"];
  for (size_t r = 0; r < batch["lengths"].size(); ++r) {
    const size_t n = batch["lengths"][r].get<size_t>();
    auto ids = batch["input_ids"][r].get<std::vector<int32_t>>();
    auto types = batch["token_type_ids"][r].get<std::vector<int32_t>>();
    ids.resize(n);
    types.resize(n);
    out.push_back({{ids, types}, batch["logits"][r].get<std::vector<float>>(),
                   "batch row " + std::to_string(r)});
  }
  return out;
}

std::vector<int64_t> test_buckets(const Encoder& encoder) {
  std::vector<int64_t> buckets = kSmallBuckets;
  buckets.push_back(encoder.config().max_position_embeddings);
  return buckets;
}

std::unique_ptr<Encoder> load(const std::string& name, DType dtype, int64_t batch) {
  auto comm = make_single_communicator();
  static std::vector<std::unique_ptr<Communicator>> keep;  // outlive the encoders
  keep.push_back(std::move(comm));
  const BertConfig config = ModelConfig::load(model_dir(name)).bert();
  std::vector<int64_t> buckets = kSmallBuckets;
  buckets.push_back(config.max_position_embeddings);
  return load_encoder(model_dir(name), test_device(), *keep.back(), dtype, {batch, buckets});
}

class EncoderGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(EncoderGolden, EveryCaseAloneInItsBucket) {
  const std::string name = GetParam();
  auto encoder = load(name, DType::kF32, 4);
  vk::CommandStream stream(test_device());
  std::set<int64_t> buckets_used;
  for (const Golden& g : golden_cases(load_golden(name))) {
    const size_t bucket = *encoder->bucket_for(static_cast<int64_t>(g.input.ids.size()));
    buckets_used.insert(encoder->bucket_length(bucket));
    EXPECT_CLOSE(g.logits, encoder->classify(stream, bucket, {&g.input}), kGoldenAtol, 0.0)
        << name << " " << g.name << " in bucket " << encoder->bucket_length(bucket);
  }
  EXPECT_EQ(buckets_used.size(), 4u) << "the cases should exercise every bucket";
  EXPECT_GE(encoder->config().num_labels, 2);
}

TEST_P(EncoderGolden, PaddedBatchMatchesHfBatch) {
  const std::string name = GetParam();
  const auto golden = load_golden(name);
  auto encoder = load(name, DType::kF32, 4);
  vk::CommandStream stream(test_device());
  std::vector<Golden> cases = golden_cases(golden);
  std::vector<const EncoderInput*> batch;
  std::vector<float> expected;
  for (size_t i = cases.size() - 4; i < cases.size(); ++i) {
    batch.push_back(&cases[i].input);
    expected.insert(expected.end(), cases[i].logits.begin(), cases[i].logits.end());
  }
  // Lengths 3..40 share bucket 128 with one forward: three rows are padding.
  const size_t bucket = *encoder->bucket_for(40);
  EXPECT_CLOSE(expected, encoder->classify(stream, bucket, batch), kGoldenAtol, 0.0) << name;
}

TEST_P(EncoderGolden, SameLogitsInEveryBucket) {
  const std::string name = GetParam();
  auto encoder = load(name, DType::kF32, 2);
  vk::CommandStream stream(test_device());
  for (const Golden& g : golden_cases(load_golden(name))) {
    const size_t first = *encoder->bucket_for(static_cast<int64_t>(g.input.ids.size()));
    const std::vector<float> reference = encoder->classify(stream, first, {&g.input});
    for (size_t b = first + 1; b < encoder->limits().buckets.size(); ++b)
      EXPECT_CLOSE(reference, encoder->classify(stream, b, {&g.input}), kBucketAtol, 0.0)
          << name << " " << g.name << " in bucket " << encoder->bucket_length(b) << " vs "
          << encoder->bucket_length(first);
  }
}

TEST_P(EncoderGolden, Fp16PredictsTheSameLabel) {
  const std::string name = GetParam();
  auto encoder = load(name, DType::kF16, 1);
  vk::CommandStream stream(test_device());
  double max_error = 0;
  for (const Golden& g : golden_cases(load_golden(name))) {
    const size_t bucket = *encoder->bucket_for(static_cast<int64_t>(g.input.ids.size()));
    const std::vector<float> logits = encoder->classify(stream, bucket, {&g.input});
    auto argmax = [](const std::vector<float>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
    EXPECT_EQ(argmax(g.logits), argmax(logits)) << name << " " << g.name;
    for (size_t i = 0; i < logits.size(); ++i)
      max_error = std::max(max_error, std::abs(double(logits[i]) - g.logits[i]));
  }
  std::printf("[ fp16     ] %s: max |logit - HF fp32 logit| = %.3g\n", name.c_str(), max_error);
  // fp16 weights carry ~5e-4 relative error per element; through two layers
  // the logits move by ~1e-3. 2e-2 flags a broken fp16 path, not rounding.
  EXPECT_LT(max_error, 2e-2) << name;
}

INSTANTIATE_TEST_SUITE_P(TinyBerts, EncoderGolden, ::testing::Values("bert", "bert2"));

TEST(Classifier, DataParallelMatchesOneReplicaInInputOrder) {
  ClassifierOptions options;
  options.buckets = kSmallBuckets;
  options.batch = 3;
  auto one = Classifier::load(testing::test_instance(), model_dir("bert"), options);
  options.devices = {0, 0};
  auto two = Classifier::load(testing::test_instance(), model_dir("bert"), options);
  ASSERT_EQ(two->replicas(), 2u);
  std::vector<EncoderInput> inputs;
  std::vector<std::vector<float>> expected;
  for (const Golden& g : golden_cases(load_golden("bert"))) {
    if (g.input.ids.size() > 128) continue;
    inputs.push_back(g.input);
    expected.push_back(g.logits);
  }
  const auto a = one->classify(inputs);
  const auto b = two->classify(inputs);
  ASSERT_EQ(a.size(), inputs.size());
  ASSERT_EQ(b.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    // Input order: each result matches its own golden.
    EXPECT_CLOSE(expected[i], a[i].logits, kGoldenAtol, 0.0) << "input " << i;
    // Same buckets and batch composition on both sides; 1e-5 allows the
    // ordering of work across replicas to change nothing but rounding.
    EXPECT_CLOSE(a[i].logits, b[i].logits, kBucketAtol, 0.0) << "input " << i;
    EXPECT_EQ(a[i].label, b[i].label);
    EXPECT_EQ(a[i].bucket, b[i].bucket);
    EXPECT_EQ(a[i].tokens, static_cast<int64_t>(inputs[i].ids.size()));
    EXPECT_EQ(a[i].label_name, one->config().id2label[a[i].label]);
  }
}

TEST(Classifier, OverlongInputIsAClearErrorUnlessTruncated) {
  ClassifierOptions options;
  options.buckets = {8, 32};
  auto classifier = Classifier::load(testing::test_instance(), model_dir("bert"), options);
  const auto golden = load_golden("bert");
  const auto& long_case = golden["cases"][2];
  const std::string text = long_case["text"].get<std::string>();
  try {
    classifier->tokenize(text, std::nullopt);
    FAIL() << "expected an error for a text longer than the largest bucket";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--truncate"), std::string::npos) << e.what();
  }
  EncoderInput too_long{std::vector<int32_t>(40, 5), {}};
  EXPECT_THROW(classifier->classify({too_long}), Error);

  // HF truncation=True, max_length=100 is golden case "long_text".
  options.buckets = {100};
  options.truncate = true;
  auto truncating = Classifier::load(testing::test_instance(), model_dir("bert"), options);
  const EncoderInput cut = truncating->tokenize(text, std::nullopt);
  EXPECT_EQ(long_case["input_ids"].get<std::vector<int32_t>>(), cut.ids);
  EXPECT_EQ(long_case["token_type_ids"].get<std::vector<int32_t>>(), cut.type_ids);
  const auto result = truncating->classify({cut});
  EXPECT_CLOSE(long_case["logits"].get<std::vector<float>>(), result[0].logits, kGoldenAtol, 0.0);
}

TEST(Classifier, BadIdsAreClearErrors) {
  ClassifierOptions options;
  options.buckets = {8};
  auto classifier = Classifier::load(testing::test_instance(), model_dir("bert"), options);
  EXPECT_THROW(classifier->classify({{{2, 9999, 3}, {}}}), Error);
  EXPECT_THROW(classifier->classify({{{2, 5, 3}, {0, 7, 0}}}), Error);
  EXPECT_THROW(classifier->classify({{{2, 5, 3}, {0, 0}}}), Error);
  EXPECT_EQ(default_buckets(512), (std::vector<int64_t>{128, 256, 512}));
  EXPECT_EQ(default_buckets(160), (std::vector<int64_t>{128, 160}));
  EXPECT_EQ(default_buckets(40), (std::vector<int64_t>{40}));
  EXPECT_THROW(check_buckets({8, 1000}, 512), Error);
}

}  // namespace
}  // namespace vkinfer
