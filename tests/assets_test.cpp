// The bundled models (assets/) against transformers' goldens, and the README's
// run command path: `vkinfer generate` with no --model prints real text.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/runtime/generator.h"
#include "engine/runtime/classifier.h"
#include "engine/vk/instance.h"
#include "engine/model/load_decoder.h"
#include "engine/io/npy.h"
#include "engine/text/tokenizer.h"
#include "tests/support/cli_runner.h"
#include "tests/support/compare.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

std::string assets_dir() {
  const char* env = std::getenv("VKINFER_ASSETS");
  return env ? env : std::string(VKINFER_SOURCE_DIR) + "/assets";
}

TEST(BundledGpt2, MatchesTransformers) {
  const auto golden = testing::load_golden("assets_gpt2");
  const std::string dir = assets_dir() + "/gpt2-kjv";
  auto tokenizer = Tokenizer::load(dir);
  const auto prompt = golden["prompt_ids"].get<std::vector<int32_t>>();
  EXPECT_EQ(tokenizer->encode(golden["prompt_text"].get<std::string>()).ids, prompt);

  auto comm = make_single_communicator();
  DecoderLimits limits;
  limits.batch = 1;
  limits.max_rows_per_seq = 64;
  limits.all_logits = true;
  auto decoder = load_decoder(dir, testing::test_device(), *comm, DType::kF32, limits);
  Engine engine(*decoder);
  Generator generator(engine);
  GenerateOptions options;
  options.max_new_tokens = golden["new_tokens"];
  options.ignore_eos = true;
  options.want_prefill_logits = true;
  const GenerateResult result = generator.run({prompt}, options);
  EXPECT_EQ(result.sequences[0].new_ids, golden["greedy_ids"].get<std::vector<int32_t>>());
  NpyArray expected = read_npy(testing::test_data_dir() + "/golden/" + golden["prefill_logits"].get<std::string>());
  // fp16 checkpoint upcast to fp32 on both sides; same bound as the
  // tiny-model goldens (different summation order only).
  EXPECT_CLOSE(expected.data, result.prefill_logits, 1e-3, 0.0);
  EXPECT_EQ(tokenizer->decode(result.sequences[0].new_ids), golden["greedy_text"].get<std::string>());
}

TEST(BundledGpt2, DefaultRunPrintsText) {
  const auto golden = testing::load_golden("assets_gpt2");
  testing::CliResult run = testing::run_vkinfer({"generate", "--max-new-tokens", "32"}, 120);
  ASSERT_TRUE(run.exited() && run.exit_code == 0) << run.describe();
  EXPECT_EQ(run.out, golden["full_text"].get<std::string>() + "\n");
}

TEST(BundledBert, MatchesTransformers) {
  const auto golden = testing::load_golden("assets_bert");
  ClassifierOptions options;
  options.truncate = true;
  auto classifier = Classifier::load(testing::test_instance(), assets_dir() + "/bert-kjv-nsp", options);
  std::vector<EncoderInput> inputs;
  for (const auto& c : golden["cases"]) {
    EncoderInput input = classifier->tokenize(c["text"].get<std::string>(), c["text_pair"].get<std::string>());
    EXPECT_EQ(input.ids, c["input_ids"].get<std::vector<int32_t>>()) << c["text"];
    EXPECT_EQ(input.type_ids, c["token_type_ids"].get<std::vector<int32_t>>()) << c["text"];
    inputs.push_back(std::move(input));
  }
  const auto results = classifier->classify(inputs);
  for (size_t i = 0; i < results.size(); ++i) {
    // fp32 on both sides (fp16 checkpoint upcast); BERT's golden bound.
    EXPECT_CLOSE(golden["cases"][i]["logits"].get<std::vector<float>>(), results[i].logits, 1e-4, 0.0);
    EXPECT_EQ(results[i].label_name, golden["cases"][i]["predicted_label"].get<std::string>());
  }
}

TEST(BundledBert, HeldOutAccuracyEqualsPyTorch) {
  const std::string dir = assets_dir() + "/bert-kjv-nsp";
  const auto eval = testing::load_json_file(dir + "/eval.json");
  ClassifierOptions options;
  options.truncate = true;
  options.batch = 8;
  auto classifier = Classifier::load(testing::test_instance(), dir, options);
  std::ifstream file(dir + "/test_split.tsv");
  ASSERT_TRUE(file) << dir << "/test_split.tsv";
  std::vector<EncoderInput> inputs;
  std::vector<int64_t> labels;
  std::string line;
  while (std::getline(file, line)) {
    std::stringstream fields(line);
    std::string text, pair, label;
    std::getline(fields, text, '\t');
    std::getline(fields, pair, '\t');
    std::getline(fields, label, '\t');
    if (label.empty() || !std::isdigit(static_cast<unsigned char>(label[0]))) continue;  // header
    inputs.push_back(classifier->tokenize(text, pair));
    labels.push_back(std::stoll(label));
  }
  ASSERT_EQ(static_cast<int64_t>(inputs.size()), eval["rows"].get<int64_t>());
  const auto results = classifier->classify(inputs);
  int64_t correct = 0;
  for (size_t i = 0; i < results.size(); ++i) correct += results[i].label == labels[i];
  EXPECT_EQ(correct, eval["correct"].get<int64_t>());
}

TEST(BundledBert, DefaultRunClassifiesThePair) {
  testing::CliResult run = testing::run_vkinfer({"classify"}, 120);
  ASSERT_TRUE(run.exited() && run.exit_code == 0) << run.describe();
  EXPECT_NE(run.out.find("B: "), std::string::npos) << run.out;
}

}  // namespace
}  // namespace vkinfer
