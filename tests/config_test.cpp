// Tests for config.json parsing. The per-family fixtures in
// tests/data/config/<case>/ were written by make_configs.py: config.json is
// what transformers 4.40.2 saves, expected.json is read off the model that
// transformers builds from it, so every DecoderConfig/BertConfig field is
// checked against Hugging Face, not against our reading of its code.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/model/config.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace vkinfer {
namespace {

using testing::expect_error;
using testing::TempDir;

namespace fs = std::filesystem;
using nlohmann::json;

fs::path test_data() {
  if (const char* dir = std::getenv("VKINFER_TEST_DATA")) return dir;
#ifdef VKINFER_SOURCE_DIR
  return fs::path(VKINFER_SOURCE_DIR) / "tests" / "data";
#else
  return {};
#endif
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kGeluErf: return "gelu_erf";
    case Activation::kGeluTanh: return "gelu_tanh";
    case Activation::kRelu: return "relu";
    case Activation::kSilu: return "silu";
  }
  return "?";
}

const char* rotary_name(RotaryStyle r) {
  switch (r) {
    case RotaryStyle::kNone: return "none";
    case RotaryStyle::kHalf: return "half";
    case RotaryStyle::kInterleaved: return "interleaved";
  }
  return "?";
}

// The fields of DecoderConfig in expected.json's spelling.
json decoder_as_json(const DecoderConfig& c) {
  return {{"arch", arch_name(c.arch)},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.hidden_size},
          {"num_layers", c.num_layers},
          {"num_heads", c.num_heads},
          {"num_kv_heads", c.num_kv_heads},
          {"head_dim", c.head_dim},
          {"intermediate_size", c.intermediate_size},
          {"max_positions", c.max_positions},
          {"norm", c.norm == NormKind::kRmsNorm ? "rms" : "layer"},
          {"norm_eps", c.norm_eps},
          {"activation", activation_name(c.activation)},
          {"gated_mlp", c.gated_mlp},
          {"rotary", rotary_name(c.rotary)},
          {"rotary_dim", c.rotary_dim},
          {"rope_theta", c.rope_theta},
          {"learned_positions", c.learned_positions},
          {"position_offset", c.position_offset},
          {"parallel_residual", c.parallel_residual},
          {"pre_norm", c.pre_norm},
          {"final_norm", c.final_norm},
          {"word_embed_proj_dim", c.word_embed_proj_dim},
          {"tie_word_embeddings", c.tie_word_embeddings},
          {"qkv_bias", c.qkv_bias},
          {"attn_out_bias", c.attn_out_bias},
          {"mlp_bias", c.mlp_bias},
          {"lm_head_bias", c.lm_head_bias},
          {"bos_token_id", c.bos_token_id},
          {"eos_token_ids", c.eos_token_ids},
          {"pad_token_id", c.pad_token_id}};
}

json bert_as_json(const BertConfig& c) {
  return {{"arch", "bert"},
          {"vocab_size", c.vocab_size},
          {"hidden_size", c.hidden_size},
          {"num_layers", c.num_layers},
          {"num_heads", c.num_heads},
          {"intermediate_size", c.intermediate_size},
          {"max_position_embeddings", c.max_position_embeddings},
          {"type_vocab_size", c.type_vocab_size},
          {"layer_norm_eps", c.layer_norm_eps},
          {"hidden_act", activation_name(c.hidden_act)},
          {"num_labels", c.num_labels},
          {"id2label", c.id2label},
          {"pad_token_id", c.pad_token_id}};
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

TEST(ConfigTest, MatchesWhatTransformersBuildsForEveryFixture) {
  const fs::path root = test_data() / "config";
  ASSERT_TRUE(fs::is_directory(root)) << "VKINFER_TEST_DATA/config missing: " << root;
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    SCOPED_TRACE(entry.path().filename().string());
    const json expected = read_json(entry.path() / "expected.json");
    const ModelConfig config = ModelConfig::load(entry.path());
    EXPECT_EQ(arch_name(config.arch), expected["arch"].get<std::string>());
    const json got = config.is_decoder() ? decoder_as_json(config.decoder())
                                         : bert_as_json(config.bert());
    // Field by field, so a failure names the field.
    for (const auto& [key, value] : expected.items()) {
      ASSERT_TRUE(got.contains(key)) << key;
      if (value.is_number_float()) {
        // eps values come from float32-free Python floats; the JSON round
        // trip is exact, so compare exactly.
        EXPECT_EQ(got[key].get<double>(), value.get<double>()) << key;
      } else {
        EXPECT_EQ(got[key], value) << key;
      }
    }
    EXPECT_EQ(got.size(), expected.size()) << "expected.json and the struct disagree on fields";
    ++cases;
  }
  EXPECT_EQ(cases, 12) << "make_configs.py writes 12 cases";
}

// Writes {"model_type": type, ...fields} as dir/config.json and loads it.
class ConfigFileTest : public ::testing::Test {
 protected:
  ModelConfig load(const json& fields) {
    write(fields.dump());
    return ModelConfig::load(dir_.path());
  }
  void write(const std::string& text) {
    std::ofstream(dir_.path() / "config.json") << text;
  }
  std::string file() const { return (dir_.path() / "config.json").string(); }
  void expect_bad(const json& fields, ErrorCode code, std::vector<std::string> needles) {
    write(fields.dump());
    needles.push_back(file());
    expect_error([&] { ModelConfig::load(dir_.path()); }, code, needles);
  }

  TempDir dir_;
};

// Defaults from the constructor signatures in transformers 4.40.2
// models/<family>/configuration_<family>.py; head/rotary derivations from the
// matching modeling_<family>.py.
TEST_F(ConfigFileTest, FamilyDefaultsMatchTransformers) {
  {
    const DecoderConfig c = load({{"model_type", "gpt2"}}).decoder();
    EXPECT_EQ(c.vocab_size, 50257);
    EXPECT_EQ(c.hidden_size, 768);
    EXPECT_EQ(c.num_layers, 12);
    EXPECT_EQ(c.intermediate_size, 3072);  // n_inner=None -> 4 * n_embd
    EXPECT_EQ(c.max_positions, 1024);
    EXPECT_EQ(c.norm_eps, 1e-5);
    EXPECT_EQ(c.activation, Activation::kGeluTanh);
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_EQ(c.bos_token_id, 50256);
    EXPECT_EQ(c.eos_token_ids, std::vector<int>{50256});
    EXPECT_EQ(c.pad_token_id, -1);
  }
  {
    const DecoderConfig c = load({{"model_type", "llama"}}).decoder();
    EXPECT_EQ(c.vocab_size, 32000);
    EXPECT_EQ(c.num_kv_heads, 32);
    EXPECT_EQ(c.head_dim, 128);
    EXPECT_EQ(c.rotary_dim, 128);
    EXPECT_EQ(c.intermediate_size, 11008);
    EXPECT_EQ(c.norm, NormKind::kRmsNorm);
    EXPECT_EQ(c.norm_eps, 1e-6);
    EXPECT_EQ(c.rope_theta, 10000.0);
    EXPECT_FALSE(c.tie_word_embeddings);
    EXPECT_FALSE(c.qkv_bias);
    EXPECT_EQ(c.bos_token_id, 1);
    EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
  }
  {
    const DecoderConfig c = load({{"model_type", "opt"}}).decoder();
    EXPECT_EQ(c.vocab_size, 50272);
    EXPECT_EQ(c.intermediate_size, 3072);
    EXPECT_EQ(c.max_positions, 2048);
    EXPECT_EQ(c.position_offset, 2);
    EXPECT_EQ(c.activation, Activation::kRelu);
    EXPECT_TRUE(c.final_norm);
    EXPECT_EQ(c.word_embed_proj_dim, 0);
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_EQ(c.pad_token_id, 1);
  }
  {
    const DecoderConfig c = load({{"model_type", "gptj"}}).decoder();
    EXPECT_EQ(c.vocab_size, 50400);
    EXPECT_EQ(c.head_dim, 256);
    EXPECT_EQ(c.rotary_dim, 64);
    EXPECT_EQ(c.intermediate_size, 16384);
    EXPECT_TRUE(c.lm_head_bias);
    EXPECT_FALSE(c.tie_word_embeddings);
  }
  {
    const DecoderConfig c = load({{"model_type", "gpt_neox"}}).decoder();
    EXPECT_EQ(c.vocab_size, 50432);
    EXPECT_EQ(c.head_dim, 96);
    EXPECT_EQ(c.rotary_dim, 24);  // int(96 * 0.25)
    EXPECT_TRUE(c.parallel_residual);
    EXPECT_EQ(c.bos_token_id, 0);
    EXPECT_EQ(c.eos_token_ids, std::vector<int>{2});
  }
  {
    const BertConfig c = load({{"model_type", "bert"}}).bert();
    EXPECT_EQ(c.vocab_size, 30522);
    EXPECT_EQ(c.max_position_embeddings, 512);
    EXPECT_EQ(c.type_vocab_size, 2);
    EXPECT_EQ(c.layer_norm_eps, 1e-12);
    EXPECT_EQ(c.hidden_act, Activation::kGeluErf);
    EXPECT_EQ(c.id2label, (std::vector<std::string>{"LABEL_0", "LABEL_1"}));
    EXPECT_EQ(c.pad_token_id, 0);
  }
}

// The families added in wave 2: defaults from configuration_{qwen2,mistral,
// gemma}.py (4.40.2) and configuration_phi3.py (4.44.2), and what the
// modeling code builds from them.
TEST_F(ConfigFileTest, NewFamilyDefaultsMatchTransformers) {
  {
    const DecoderConfig c = load({{"model_type", "qwen2"}}).decoder();
    EXPECT_EQ(c.vocab_size, 151936);
    EXPECT_EQ(c.intermediate_size, 22016);
    EXPECT_EQ(c.max_positions, 32768);
    EXPECT_TRUE(c.qkv_bias);
    EXPECT_FALSE(c.attn_out_bias);
    EXPECT_EQ(c.sliding_window, 0);  // use_sliding_window defaults to false
    EXPECT_EQ(c.bos_token_id, -1);
    EXPECT_TRUE(c.eos_token_ids.empty());
  }
  {
    const DecoderConfig c = load({{"model_type", "mistral"}}).decoder();
    EXPECT_EQ(c.num_kv_heads, 8);
    EXPECT_EQ(c.intermediate_size, 14336);
    EXPECT_EQ(c.max_positions, 4096 * 32);
    EXPECT_EQ(c.sliding_window, 4096);
    EXPECT_EQ(load({{"model_type", "mistral"}, {"sliding_window", nullptr}}).decoder().sliding_window, 0);
  }
  {
    const DecoderConfig c = load({{"model_type", "gemma"}, {"hidden_act", "gelu"}}).decoder();
    EXPECT_EQ(c.vocab_size, 256000);
    EXPECT_EQ(c.hidden_size, 3072);
    EXPECT_EQ(c.head_dim, 256);  // from the config, not 3072 / 16
    EXPECT_EQ(c.rotary_dim, 256);
    EXPECT_EQ(c.activation, Activation::kGeluTanh);  // hidden_activation=None overrides hidden_act
    EXPECT_EQ(c.norm_gain_offset, 1.0f);
    EXPECT_EQ(c.embed_scale, static_cast<float>(std::sqrt(3072.0)));
    EXPECT_TRUE(c.tie_word_embeddings);
    EXPECT_EQ(c.bos_token_id, 2);
    EXPECT_EQ(c.eos_token_ids, std::vector<int>{1});
    EXPECT_EQ(c.pad_token_id, 0);
    EXPECT_EQ(load({{"model_type", "gemma"}, {"hidden_activation", "gelu"}}).decoder().activation,
              Activation::kGeluErf);
  }
  {
    const DecoderConfig c = load({{"model_type", "phi3"}}).decoder();
    EXPECT_EQ(c.vocab_size, 32064);
    EXPECT_EQ(c.intermediate_size, 8192);
    EXPECT_EQ(c.norm_eps, 1e-5);
    EXPECT_TRUE(c.fused_qkv);
    EXPECT_TRUE(c.fused_gate_up);
    EXPECT_EQ(c.eos_token_ids, std::vector<int>{32000});
    EXPECT_EQ(c.pad_token_id, 32000);
    EXPECT_EQ(c.sliding_window, 0);  // read by flash attention only
  }
}

TEST_F(ConfigFileTest, NewFamiliesRefuseWhatTheyCannotRun) {
  expect_bad({{"model_type", "qwen2"}, {"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}}}},
             ErrorCode::kUnsupported, {"\"rope_scaling\"", "yarn", "qwen2"});
  expect_bad({{"model_type", "qwen2"}, {"use_sliding_window", true}, {"num_hidden_layers", 30},
              {"max_window_layers", 28}},
             ErrorCode::kUnsupported, {"\"max_window_layers\""});
  expect_bad({{"model_type", "phi3"}, {"rope_scaling", {{"type", "longrope"}}}},
             ErrorCode::kUnsupported, {"\"rope_scaling\"", "longrope"});
  expect_bad({{"model_type", "mistral"}, {"head_dim", 64}}, ErrorCode::kUnsupported, {"\"head_dim\""});
  expect_bad({{"model_type", "gemma"}, {"head_dim", 7}}, ErrorCode::kBadConfig, {"\"head_dim\"", "even"});
  expect_bad({{"model_type", "gemma"}, {"num_key_value_heads", 3}}, ErrorCode::kBadConfig,
             {"\"num_key_value_heads\""});
}

TEST_F(ConfigFileTest, FollowsTransformersConventions) {
  // attribute_map aliases are applied after the named arguments, so they win.
  EXPECT_EQ(load({{"model_type", "gpt2"}, {"n_embd", 32}, {"hidden_size", 64}, {"n_head", 4}})
                .decoder()
                .hidden_size,
            64);
  EXPECT_EQ(load({{"model_type", "bert"}, {"num_labels", 3}}).bert().id2label.back(), "LABEL_2");
  EXPECT_EQ(load({{"model_type", "gpt2"}, {"eos_token_id", {5, 7}}}).decoder().eos_token_ids,
            (std::vector<int>{5, 7}));
  EXPECT_TRUE(load({{"model_type", "gpt2"}, {"eos_token_id", nullptr}}).decoder().eos_token_ids.empty());
  EXPECT_EQ(load({{"model_type", "llama"}, {"pad_token_id", -1}}).decoder().pad_token_id, -1);
  // Defaults outside a tiny vocabulary are dropped, not rejected.
  EXPECT_EQ(load({{"model_type", "gpt2"}, {"vocab_size", 100}}).decoder().bos_token_id, -1);
  const ModelConfig config = load({{"model_type", "gpt2"}, {"custom", "kept"}});
  EXPECT_EQ(config.raw["custom"], "kept");
  EXPECT_EQ(config.model_type, "gpt2");
  expect_error([&] { config.bert(); }, ErrorCode::kInvalidArgument, {"gpt2"});
}

TEST_F(ConfigFileTest, ArchNamesRoundTrip) {
  for (Arch arch : {Arch::kBert, Arch::kGpt2, Arch::kLlama, Arch::kOpt, Arch::kGptJ,
                    Arch::kGptNeoX, Arch::kQwen2, Arch::kMistral, Arch::kGemma, Arch::kPhi3}) {
    EXPECT_EQ(arch_from_string(arch_name(arch)), arch);
  }
  expect_error([] { arch_from_string("t5"); }, ErrorCode::kUnsupported, {"\"t5\"", "gpt_neox"});
}

TEST_F(ConfigFileTest, RejectsMissingAndMalformedFiles) {
  expect_error([&] { ModelConfig::load(dir_.path()); }, ErrorCode::kBadFile,
               {file(), "cannot open"});
  write("{\n  \"model_type\": \"gpt2\",\n  \"n_layer\": 12,,\n}");
  expect_error([&] { ModelConfig::load(dir_.path()); }, ErrorCode::kBadFile,
               {file(), "line 3", "column"});
  expect_bad(json::array({1}), ErrorCode::kBadConfig, {"expected an object"});
  expect_bad({{"n_layer", 2}}, ErrorCode::kBadConfig, {"model_type"});
  expect_bad({{"model_type", 5}}, ErrorCode::kBadConfig, {"model_type"});
  expect_bad({{"model_type", "t5"}}, ErrorCode::kUnsupported, {"\"t5\"", "bert, gpt2, llama"});
}

TEST_F(ConfigFileTest, RejectsWrongTypes) {
  expect_bad({{"model_type", "gpt2"}, {"n_layer", "12"}}, ErrorCode::kBadConfig,
             {"\"n_layer\"", "string"});
  expect_bad({{"model_type", "gpt2"}, {"n_embd", 768.5}}, ErrorCode::kBadConfig,
             {"\"n_embd\"", "integer"});
  expect_bad({{"model_type", "gpt2"}, {"n_embd", nullptr}}, ErrorCode::kBadConfig,
             {"\"n_embd\""});
  expect_bad({{"model_type", "opt"}, {"tie_word_embeddings", 1}}, ErrorCode::kBadConfig,
             {"\"tie_word_embeddings\"", "true or false"});
  expect_bad({{"model_type", "bert"}, {"layer_norm_eps", "1e-12"}}, ErrorCode::kBadConfig,
             {"\"layer_norm_eps\"", "number"});
  expect_bad({{"model_type", "llama"}, {"eos_token_id", {2, "3"}}}, ErrorCode::kBadConfig,
             {"\"eos_token_id\"", "token id"});
  expect_bad({{"model_type", "gpt2"}, {"activation_function", 3}}, ErrorCode::kBadConfig,
             {"\"activation_function\""});
}

TEST_F(ConfigFileTest, RejectsNonPositiveAndAbsurdSizes) {
  expect_bad({{"model_type", "gpt2"}, {"n_embd", 0}}, ErrorCode::kBadConfig, {"\"n_embd\""});
  expect_bad({{"model_type", "gpt2"}, {"n_layer", -1}}, ErrorCode::kBadConfig, {"\"n_layer\""});
  expect_bad({{"model_type", "llama"}, {"num_hidden_layers", 1000000000000LL}},
             ErrorCode::kBadConfig, {"\"num_hidden_layers\"", "1000000000000"});
  expect_bad({{"model_type", "llama"}, {"vocab_size", 2147483648LL}}, ErrorCode::kBadConfig,
             {"\"vocab_size\""});
  expect_bad({{"model_type", "bert"}, {"max_position_embeddings", 18446744073709551615ULL}},
             ErrorCode::kBadConfig, {"\"max_position_embeddings\""});
  expect_bad({{"model_type", "gpt2"}, {"layer_norm_epsilon", -1e-5}}, ErrorCode::kBadConfig,
             {"\"layer_norm_epsilon\""});
  expect_bad({{"model_type", "llama"}, {"rope_theta", 0}}, ErrorCode::kBadConfig,
             {"\"rope_theta\""});
}

TEST_F(ConfigFileTest, RejectsInconsistentHeads) {
  expect_bad({{"model_type", "gpt2"}, {"n_embd", 100}, {"n_head", 12}}, ErrorCode::kBadConfig,
             {"\"n_head\"", "does not divide"});
  expect_bad({{"model_type", "bert"}, {"hidden_size", 8}, {"num_attention_heads", 16}},
             ErrorCode::kBadConfig, {"\"num_attention_heads\""});
  expect_bad({{"model_type", "llama"}, {"num_key_value_heads", 5}}, ErrorCode::kBadConfig,
             {"\"num_key_value_heads\"", "32"});
  expect_bad({{"model_type", "llama"}, {"num_key_value_heads", 64}}, ErrorCode::kBadConfig,
             {"\"num_key_value_heads\""});
  expect_bad({{"model_type", "llama"}, {"head_dim", 64}}, ErrorCode::kUnsupported,
             {"\"head_dim\"", "128"});
}

TEST_F(ConfigFileTest, RejectsBadRotary) {
  expect_bad({{"model_type", "gptj"}, {"rotary_dim", 512}}, ErrorCode::kBadConfig,
             {"\"rotary_dim\"", "head_dim = 256"});
  expect_bad({{"model_type", "gptj"}, {"rotary_dim", 63}}, ErrorCode::kBadConfig,
             {"\"rotary_dim\"", "even"});
  expect_bad({{"model_type", "gptj"}, {"rotary_dim", nullptr}}, ErrorCode::kUnsupported,
             {"\"rotary_dim\"", "null"});
  expect_bad({{"model_type", "gpt_neox"}, {"rotary_pct", 0}}, ErrorCode::kBadConfig,
             {"\"rotary_pct\""});
  expect_bad({{"model_type", "gpt_neox"}, {"rotary_pct", 1.5}}, ErrorCode::kBadConfig,
             {"\"rotary_pct\""});
  // 96 * 0.01 truncates to 0 rotating dims.
  expect_bad({{"model_type", "gpt_neox"}, {"rotary_pct", 0.01}}, ErrorCode::kBadConfig,
             {"\"rotary_pct\""});
  // rope_scaling: types later transformers added, extra keys they read,
  // factors 4.40.2 rejects, and a dynamic exponent dim / (dim - 2) at dim 2.
  expect_bad({{"model_type", "llama"},
              {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}}}},
             ErrorCode::kBadConfig, {"\"rope_scaling\"", "low_freq_factor"});
  expect_bad({{"model_type", "llama"},
              {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 4.0},
                                {"high_freq_factor", 1.0}, {"original_max_position_embeddings", 8192}}}},
             ErrorCode::kBadConfig, {"\"rope_scaling\"", "high_freq_factor"});
  expect_bad({{"model_type", "gpt_neox"},
              {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}}}},
             ErrorCode::kUnsupported, {"\"rope_scaling\"", "llama3"});
  expect_bad({{"model_type", "llama"},
              {"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}}}},
             ErrorCode::kUnsupported, {"\"rope_scaling\"", "yarn"});
  expect_bad({{"model_type", "llama"},
              {"rope_scaling",
               {{"type", "linear"}, {"factor", 4.0}, {"original_max_position_embeddings", 2048}}}},
             ErrorCode::kUnsupported, {"\"rope_scaling\"", "original_max_position_embeddings"});
  expect_bad({{"model_type", "llama"}, {"rope_scaling", {{"type", "linear"}, {"factor", 1.0}}}},
             ErrorCode::kBadConfig, {"\"rope_scaling\"", "factor"});
  expect_bad({{"model_type", "llama"}, {"rope_scaling", {{"type", "linear"}}}},
             ErrorCode::kBadConfig, {"\"rope_scaling\"", "factor"});
  expect_bad({{"model_type", "llama"}, {"rope_scaling", {{"factor", 2.0}}}},
             ErrorCode::kBadConfig, {"\"rope_scaling\"", "type"});
  expect_bad({{"model_type", "llama"}, {"rope_scaling", "linear"}}, ErrorCode::kBadConfig,
             {"\"rope_scaling\""});
  expect_bad({{"model_type", "gpt_neox"}, {"hidden_size", 32}, {"num_attention_heads", 4},
              {"rotary_pct", 0.25}, {"rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}}},
             ErrorCode::kUnsupported, {"\"rope_scaling\"", "rotary width of 2"});
}

// rope_scaling as LlamaConfig / GPTNeoXConfig 4.40.2 take it, and the base a
// dynamic one gives a forward, from the formula in
// LlamaDynamicNTKScalingRotaryEmbedding (the decoder goldens check the logits).
TEST_F(ConfigFileTest, ReadsRopeScaling) {
  {
    const DecoderConfig c =
        load({{"model_type", "llama"}, {"rope_scaling", {{"type", "linear"}, {"factor", 4.0}}}})
            .decoder();
    EXPECT_EQ(c.rope_scaling, RopeScaling::kLinear);
    EXPECT_EQ(c.rope_scaling_factor, 4.0);
    EXPECT_EQ(rope_base(c, 100000), 10000.0f);  // linear never moves the base
  }
  {
    const DecoderConfig c = load({{"model_type", "gpt_neox"},
                                  {"rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}}})
                                .decoder();
    EXPECT_EQ(c.rope_scaling, RopeScaling::kDynamic);
    EXPECT_EQ(c.rotary_dim, 24);
    EXPECT_EQ(rope_base(c, 2048), 10000.0f);  // up to max_position_embeddings: unscaled
    // 10000 * (2 * 4096 / 2048 - 1) ^ (24 / 22) = 10000 * 3 ^ (12 / 11)
    EXPECT_NEAR(rope_base(c, 4096), 10000.0 * std::pow(3.0, 12.0 / 11.0), 0.05);
  }
  EXPECT_EQ(load({{"model_type", "llama"}, {"rope_scaling", nullptr}}).decoder().rope_scaling,
            RopeScaling::kNone);
  {
    // Llama 3.1 8B's config.json.
    const DecoderConfig c = load({{"model_type", "llama"},
                                  {"max_position_embeddings", 131072},
                                  {"rope_theta", 500000.0},
                                  {"rope_scaling", {{"rope_type", "llama3"},
                                                    {"factor", 8.0},
                                                    {"low_freq_factor", 1.0},
                                                    {"high_freq_factor", 4.0},
                                                    {"original_max_position_embeddings", 8192}}}})
                                .decoder();
    EXPECT_EQ(c.rope_scaling, RopeScaling::kLlama3);
    EXPECT_EQ(c.rope_scaling_factor, 8.0);
    EXPECT_EQ(c.rope_low_freq_factor, 1.0);
    EXPECT_EQ(c.rope_high_freq_factor, 4.0);
    EXPECT_EQ(c.rope_original_max_positions, 8192);
    EXPECT_EQ(rope_base(c, 100000), 500000.0f);  // llama3 changes frequencies, not the base
  }
}

TEST_F(ConfigFileTest, ReadsGpt2AttentionScaling) {
  const DecoderConfig plain = load({{"model_type", "gpt2"}}).decoder();
  EXPECT_TRUE(plain.scale_attn_weights);
  EXPECT_FALSE(plain.scale_attn_by_layer);
  const DecoderConfig scaled = load({{"model_type", "gpt2"},
                                     {"scale_attn_weights", false},
                                     {"scale_attn_by_inverse_layer_idx", true}})
                                   .decoder();
  EXPECT_FALSE(scaled.scale_attn_weights);
  EXPECT_TRUE(scaled.scale_attn_by_layer);
}

TEST_F(ConfigFileTest, RejectsFeaturesWeDoNotRun) {
  expect_bad({{"model_type", "gpt2"}, {"activation_function", "quick_gelu"}},
             ErrorCode::kUnsupported, {"\"activation_function\"", "quick_gelu"});
  expect_bad({{"model_type", "opt"}, {"layer_norm_elementwise_affine", false}},
             ErrorCode::kUnsupported, {"\"layer_norm_elementwise_affine\""});
  expect_bad({{"model_type", "bert"}, {"position_embedding_type", "relative_key"}},
             ErrorCode::kUnsupported, {"\"position_embedding_type\"", "relative_key"});
}

TEST_F(ConfigFileTest, RejectsBadTokensAndLabels) {
  expect_bad({{"model_type", "gpt2"}, {"vocab_size", 100}, {"eos_token_id", 100}},
             ErrorCode::kBadConfig, {"\"eos_token_id\"", "100 tokens"});
  expect_bad({{"model_type", "bert"}, {"id2label", {{"0", "a"}, {"2", "b"}}}},
             ErrorCode::kBadConfig, {"\"id2label\"", "\"2\""});
  expect_bad({{"model_type", "bert"}, {"id2label", {{"0", "a"}, {"x", "b"}}}},
             ErrorCode::kBadConfig, {"\"id2label\"", "\"x\""});
  expect_bad({{"model_type", "bert"}, {"id2label", {{"0", 1}}}}, ErrorCode::kBadConfig,
             {"\"id2label\"", "label name"});
  expect_bad({{"model_type", "bert"}, {"id2label", json::array()}}, ErrorCode::kBadConfig,
             {"\"id2label\""});
}

}  // namespace
}  // namespace vkinfer
