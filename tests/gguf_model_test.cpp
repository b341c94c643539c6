// Models loaded from GGUF files (tests/data/gguf/make_gguf_models.py wrote
// them the way convert_hf_to_gguf.py does, in F32, F16, Q8_0/Q4_0/Q4_1/
// Q5_0/Q5_1 and a mixed Q4_K_M-like file): each loads through the path API
// and gives transformers' prefill logits on the file's dequantized weights;
// the tokenizer and chat template come from the metadata; broken files get
// one clear error each.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/core/half.h"
#include "engine/io/checkpoint.h"
#include "engine/io/gguf_checkpoint.h"
#include "engine/io/gguf_names.h"
#include "engine/io/gguf_rope_freqs.h"
#include "engine/io/gguf_writer.h"
#include "engine/io/npy.h"
#include "engine/model/config.h"
#include "engine/model/load_decoder.h"
#include "engine/runtime/model_files.h"
#include "tests/support/compare.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::expect_error;
using testing::test_data_dir;
using testing::test_device;

std::string gguf_dir() { return test_data_dir() + "/gguf/"; }

nlohmann::json manifest() { return testing::load_json_file(gguf_dir() + "models.json"); }

// Listed here rather than read from models.json at static-initialisation
// time; entry() fails the test when the manifest lacks one.
const char* const kModels[] = {"llama_f32",    "gpt2_f16",     "qwen2_f16",    "gemma_f16",
                               "gptneox_f16",  "llama64_q8_0", "llama64_q4_0", "llama64_q4_1",
                               "llama64_q5_0", "llama64_q5_1", "gpt2_64_q8_0", "llama256_q4_k_m"};

nlohmann::json entry(const std::string& name) {
  const nlohmann::json all = manifest();  // not a temporary: the loop refers into it
  for (const auto& m : all["models"])
    if (m["name"] == name) return m;
  ADD_FAILURE() << "no model " << name << " in models.json";
  return {};
}

class GgufModel : public ::testing::TestWithParam<const char*> {};

TEST_P(GgufModel, PrefillLogitsMatchTransformers) {
  const nlohmann::json m = entry(GetParam());
  const std::string path = gguf_dir() + m["file"].get<std::string>();
  auto comm = make_single_communicator();
  DecoderLimits limits;
  limits.batch = 1;
  limits.max_rows_per_seq = 16;
  limits.all_logits = true;
  limits.ctx = 32;
  auto decoder = load_decoder(path, test_device(), *comm, DType::kF32, limits);
  const int64_t vocab = decoder->config().vocab_size;
  vk::CommandStream stream(test_device());
  KvCache cache = decoder->make_cache();
  const std::vector<int32_t> prompt = m["prompt_ids"].get<std::vector<int32_t>>();
  const auto T = static_cast<int64_t>(prompt.size());
  StepBatch step;
  step.ids = prompt;
  step.sequences = {{cache.acquire(), T}};
  step.all_logits = true;
  decoder->forward(stream, cache, step);
  stream.finish();
  std::vector<float> logits = decoder->logits().download(test_device());
  logits.resize(T * vocab);
  const NpyArray expected = read_npy(gguf_dir() + m["prefill_logits"].get<std::string>());
  // Both sides run fp32 on the same (dequantized) weights and differ only in
  // summation order, as in decoder_test: 1e-3 (the issue's bound) on logits
  // of O(1). A wrong un-permutation, transpose or dequantization moves them
  // by O(0.1) or more.
  EXPECT_CLOSE(expected.data, logits, 1e-3, 0.0) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Files, GgufModel, ::testing::ValuesIn(kModels),
                         [](const auto& info) { return std::string(info.param); });

// The checkpoint presents HF names and shapes, and raw blocks for block types.
TEST(GgufCheckpointView, NamesShapesAndBlocks) {
  const Checkpoint gpt2 = Checkpoint::open(gguf_dir() + "gpt2_64_q8_0.gguf");
  ASSERT_NE(gpt2.gguf(), nullptr);
  // Conv1D: HF [in, out], GGUF holds [out, in]; read_blocks gives [out, in].
  EXPECT_EQ(gpt2.info("transformer.h.0.attn.c_attn.weight").shape, (std::vector<int64_t>{64, 192}));
  EXPECT_EQ(gpt2.block_type("transformer.h.0.attn.c_attn.weight"), GgmlType::kQ8_0);
  EXPECT_EQ(gpt2.block_type("transformer.h.0.ln_1.weight"), std::nullopt);
  std::vector<uint8_t> blocks(2 * 34);
  gpt2.read_blocks("transformer.h.0.attn.c_attn.weight", 5, 1, 32, 32, blocks.data(), 34);
  // Block (row 5, columns 32..63) dequantized equals read()'s HF column 5, rows 32..63.
  std::vector<float> column(32);
  gpt2.read("transformer.h.0.attn.c_attn.weight", DType::kF32, column.data(), 32, 32, 5, 1, 1);
  const float d = f16_to_f32(static_cast<uint16_t>(blocks[0] | (blocks[1] << 8)));
  for (int i = 0; i < 32; ++i) EXPECT_EQ(column[i], d * static_cast<float>(static_cast<int8_t>(blocks[2 + i])));
  expect_error([&] { gpt2.read_blocks("transformer.h.0.attn.c_attn.weight", 0, 1, 16, 32, blocks.data(), 34); },
               ErrorCode::kUnsupported, {"blk.0.attn_qkv.weight", "Q8_0", "[16, +32)"});

  // Llama q rows come un-permuted: read_blocks row r is read()'s row r.
  const Checkpoint llama = Checkpoint::open(gguf_dir() + "llama64_q8_0.gguf");
  const std::string q = "model.layers.1.self_attn.q_proj.weight";
  std::vector<float> row(64);
  std::vector<uint8_t> q_blocks(2 * 34);
  for (int64_t r : {0, 5, 8, 17, 63}) {
    llama.read(q, DType::kF32, row.data(), r, 1, 0, 64, 64);
    llama.read_blocks(q, r, 1, 0, 64, q_blocks.data(), q_blocks.size());
    for (int b = 0; b < 2; ++b) {
      const float scale = f16_to_f32(static_cast<uint16_t>(q_blocks[b * 34] | (q_blocks[b * 34 + 1] << 8)));
      for (int i = 0; i < 32; ++i)
        EXPECT_EQ(row[b * 32 + i], scale * static_cast<float>(static_cast<int8_t>(q_blocks[b * 34 + 2 + i]))) << r;
    }
  }
  // llama64 has an untied head; a missing tensor names both spellings.
  EXPECT_TRUE(llama.has("lm_head.weight"));
  expect_error([&] { llama.info("model.layers.9.mlp.up_proj.weight"); }, ErrorCode::kMissingTensor,
               {"blk.9.ffn_up.weight", "model.layers.9.mlp.up_proj.weight"});
}

TEST(GgufNames, BothDirectionsAgree) {
  for (const GgufArchitecture& arch : gguf_architectures()) {
    for (const GgufTensorRule& rule : arch.tensors) {
      std::string g = rule.gguf, h = rule.hf;
      const auto at_g = g.find("{bid}"), at_h = h.find("{bid}");
      if (at_g != std::string::npos) g.replace(at_g, 5, "11");
      if (at_h != std::string::npos) h.replace(at_h, 5, "11");
      const auto to_hf = gguf_to_hf_name(arch, g);
      const auto to_gguf = hf_to_gguf_name(arch, h);
      ASSERT_TRUE(to_hf && to_gguf) << arch.gguf_arch << " " << g;
      EXPECT_EQ(to_hf->name, h);
      EXPECT_EQ(to_gguf->name, g);
      EXPECT_EQ(to_hf->layout, rule.layout);
    }
  }
  // The row moves invert each other (the writer uses hf_row_of).
  for (GgufLayout layout : {GgufLayout::kPermuteQ, GgufLayout::kNeoxQkv, GgufLayout::kSame}) {
    const int64_t heads = 3, rows = 36;  // divides into 2 * heads and 3 * heads
    std::vector<bool> hit(rows, false);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t g = gguf_row_of(layout, r, rows, heads);
      ASSERT_TRUE(g >= 0 && g < rows && !hit[g]) << gguf_layout_name(layout) << " " << r;
      hit[g] = true;
      EXPECT_EQ(hf_row_of(layout, g, rows, heads), r) << gguf_layout_name(layout);
    }
  }
  // Llama's permutation of a 4-row head: HF rows [0 1 | 2 3] interleave to [0 2 1 3].
  EXPECT_EQ(gguf_row_of(GgufLayout::kPermuteQ, 2, 4, 1), 1);
  EXPECT_EQ(gguf_row_of(GgufLayout::kPermuteQ, 1, 4, 1), 2);
  const GgufArchitecture* llama = find_gguf_architecture_for_hf("mistral");
  ASSERT_NE(llama, nullptr);
  EXPECT_STREQ(llama->gguf_arch, "llama");
  EXPECT_FALSE(gguf_to_hf_name(*llama, "rope_freqs.weight"));
  EXPECT_FALSE(gguf_to_hf_name(*llama, "blk.01.attn_q.weight"));  // no leading zeros
}

TEST(GgufConfig, FromMetadata) {
  const DecoderConfig c = ModelConfig::load(gguf_dir() + "llama256_q4_k_m.gguf").decoder();
  EXPECT_EQ(c.arch, Arch::kLlama);
  EXPECT_EQ(c.hidden_size, 256);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.num_heads, 4);
  EXPECT_EQ(c.num_kv_heads, 1);
  EXPECT_EQ(c.intermediate_size, 160);
  EXPECT_EQ(c.vocab_size, 347);
  EXPECT_FLOAT_EQ(static_cast<float>(c.norm_eps), 1e-5f);
  const DecoderConfig neox = ModelConfig::load(gguf_dir() + "gptneox_f16.gguf").decoder();
  EXPECT_EQ(neox.rotary_dim, 6);  // rotary_pct 0.5 of a 12-wide head
  const DecoderConfig gemma = ModelConfig::load(gguf_dir() + "gemma_f16.gguf").decoder();
  EXPECT_EQ(gemma.head_dim, 16);
  EXPECT_TRUE(gemma.tie_word_embeddings);
}

// The tokenizer built from GGUF metadata encodes as the HF folder's
// tokenizer.json does: byte-level BPE (gpt2, qwen2: tokens + merges) and
// SentencePiece-style BPE with byte fallback (llama: tokens + scores, the
// merges rebuilt from the scores).
TEST(GgufTokenizer, EncodesLikeTheFolder) {
  const std::vector<std::string> texts = {
      "Hello world", "the cat sat on the mat.", "  leading spaces and\ttabs\n", "numbers 12345 and ünïcödé ☃",
      "<|endoftext|> special", "<s> and </s> markers"};
  int checked = 0;
  const nlohmann::json all = manifest();
  for (const auto& m : all["models"]) {
    if (m["tokenizer_folder"].is_null()) continue;
    const std::string path = gguf_dir() + m["file"].get<std::string>();
    const std::string folder = test_data_dir() + "/" + m["tokenizer_folder"].get<std::string>();
    ASSERT_TRUE(model_tokenizer_present(path));
    const auto from_gguf = load_model_tokenizer(path);
    const auto from_folder = Tokenizer::load(folder);
    EXPECT_EQ(from_gguf->vocab_size(), from_folder->vocab_size()) << path;
    EXPECT_EQ(from_gguf->bos_id(), from_folder->bos_id()) << path;
    EXPECT_EQ(from_gguf->eos_id(), from_folder->eos_id()) << path;
    for (const std::string& text : texts) {
      EXPECT_EQ(from_gguf->encode(text).ids, from_folder->encode(text).ids) << path << ": " << text;
      const auto ids = from_folder->encode(text, false).ids;
      EXPECT_EQ(from_gguf->decode(ids, true), from_folder->decode(ids, true)) << path << ": " << text;
    }
    ++checked;
  }
  EXPECT_GE(checked, 3);  // llama (SentencePiece), gpt2, qwen2
}

// tokenizer.ggml.pre "smollm" (and starcoder, refact): llama.cpp splits
// every digit off before GPT-2's regex, which is HF's Digits(individual)
// then ByteLevel. The gpt2 file's vocabulary under that pre-tokenizer must
// encode as the gpt2 folder's tokenizer.json does with its pre_tokenizer
// replaced by that sequence.
TEST(GgufTokenizer, DigitSplittingPreTokenizers) {
  const std::unique_ptr<GgufFile> source = GgufFile::open(gguf_dir() + "gpt2_f16.gguf");
  // Merges that join digits ("12", "34"): without the digit split GPT-2's
  // regex keeps "1234" in one piece and they apply, so the test can tell.
  nlohmann::json tokenizer = testing::load_json_file(test_data_dir() + "/models/gpt2/tokenizer.json");
  const int64_t vocab = source->get_strings("tokenizer.ggml.tokens").size();
  tokenizer["model"]["vocab"]["12"] = vocab;
  tokenizer["model"]["vocab"]["34"] = vocab + 1;
  for (const char* merge : {"1 2", "3 4"}) {
    const std::string m = merge;
    if (tokenizer["model"]["merges"].empty() || tokenizer["model"]["merges"][0].is_string())
      tokenizer["model"]["merges"].push_back(m);
    else
      tokenizer["model"]["merges"].push_back({m.substr(0, 1), m.substr(2)});
  }
  nlohmann::json without_split = tokenizer;
  without_split["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                                    {"use_regex", true}};
  const auto plain = Tokenizer::from_json(without_split, nlohmann::json::object(), nlohmann::json::object(),
                                          "gpt2 with digit merges");
  tokenizer["pre_tokenizer"] = {{"type", "Sequence"},
                                {"pretokenizers", nlohmann::json::array(
                                     {{{"type", "Digits"}, {"individual_digits", true}},
                                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                                       {"use_regex", true}}})}};
  const auto expected = Tokenizer::from_json(tokenizer, nlohmann::json::object(), nlohmann::json::object(),
                                             "smollm-style gpt2");
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("vkinfer_gguf_pre_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  for (const char* pre : {"smollm", "starcoder"}) {
    GgufWriter writer;
    for (const auto& [key, value] : source->metadata()) {
      if (key == "tokenizer.ggml.pre") continue;
      GgufValue copy = value;  // the metadata, no tensors, plus the digit merges below
      auto append = [&](GgufValue element) { copy.array.push_back(std::move(element)); };
      GgufValue str;
      str.type = GgufValueType::kString;
      if (key == "tokenizer.ggml.tokens")
        for (const char* token : {"12", "34"}) { str.string = token; append(str); }
      if (key == "tokenizer.ggml.merges")
        for (const char* merge : {"1 2", "3 4"}) { str.string = merge; append(str); }
      if (key == "tokenizer.ggml.token_type")
        for (int i = 0; i < 2; ++i) { GgufValue normal = copy.array.front(); normal.bits = 1; append(normal); }
      writer.add_value(key, copy);
    }
    writer.add_string("tokenizer.ggml.pre", pre);
    const std::string path = (dir / (std::string(pre) + ".gguf")).string();
    writer.write(path);
    const auto from_gguf = load_model_tokenizer(path);
    for (const std::string text : {"Room 1234 has 56 chairs", "pi is 3.14159, e is 2.71828", "no digits here"}) {
      const std::vector<int32_t> ids = from_gguf->encode(text).ids;
      EXPECT_EQ(ids, expected->encode(text).ids) << pre << ": " << text;
      const bool has_digit_merge = text.find("12") != std::string::npos || text.find("34") != std::string::npos;
      EXPECT_EQ(ids != plain->encode(text).ids, has_digit_merge) << pre << ": " << text;
    }
  }
  std::filesystem::remove_all(dir);
}

// Llama 3.1+ files hold rope_scaling as rope_freqs.weight; the four
// numbers come back from the divisors, for the real models' shapes, and a
// table that follows no llama3 rule is refused.
TEST(GgufRopeFreqs, RecoversLlama3Scaling) {
  struct Real { double factor, theta; int64_t head_dim; };
  for (const Real& r : {Real{32, 500000, 64}, Real{8, 500000, 128}, Real{32, 500000, 128}}) {
    Llama3RopeScaling s;
    s.factor = r.factor;
    s.low_freq_factor = 1;
    s.high_freq_factor = 4;
    s.original_max_positions = 8192;
    const std::vector<float> divisors = llama3_rope_divisors(s, r.theta, r.head_dim);
    const auto back = llama3_rope_from_divisors(divisors, r.theta, r.head_dim, "test");
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->factor, s.factor);
    EXPECT_EQ(back->low_freq_factor, 1.0);
    EXPECT_EQ(back->high_freq_factor, 4.0);
    EXPECT_EQ(back->original_max_positions, 8192.0);
  }
  EXPECT_FALSE(llama3_rope_from_divisors(std::vector<float>(32, 1.0f), 500000, 64, "test").has_value());
  Llama3RopeScaling s{32, 1, 4, 8192};
  std::vector<float> bent = llama3_rope_divisors(s, 500000, 64);
  bent.back() = 7.0f;  // the longest wavelength must be divided by the factor
  expect_error([&] { llama3_rope_from_divisors(bent, 500000, 64, "bent.gguf"); }, ErrorCode::kUnsupported,
               {"bent.gguf", "rope_freqs.weight"});
}

TEST(GgufTokenizer, ChatTemplateFromMetadata) {
  const auto chat = load_model_chat_template(gguf_dir() + "llama_f32.gguf");
  ASSERT_TRUE(chat.has_value());
  const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  EXPECT_EQ(chat->render(messages, true), "<|user|>hi</s><|assistant|>");
  EXPECT_FALSE(load_model_chat_template(gguf_dir() + "gpt2_f16.gguf").has_value());
}

TEST(GgufBadFiles, OneClearErrorEach) {
  auto comm = make_single_communicator();
  DecoderLimits limits;
  limits.batch = 1;
  limits.ctx = 16;
  auto load = [&](const std::string& name) {
    load_decoder(gguf_dir() + name, test_device(), *comm, DType::kF32, limits);
  };
  expect_error([&] { load("bad_arch.gguf"); }, ErrorCode::kUnsupported,
               {"bad_arch.gguf", "general.architecture", "\"mamba\""});
  expect_error([&] { load("bad_key.gguf"); }, ErrorCode::kBadFile,
               {"bad_key.gguf", "llama.attention.head_count", "num_attention_heads"});
  expect_error([&] { load("bad_tensor.gguf"); }, ErrorCode::kMissingTensor,
               {"bad_tensor.gguf", "blk.0.ffn_up.weight"});
  expect_error([&] { load("bad_shape.gguf"); }, ErrorCode::kShapeMismatch, {"bad_shape.gguf", "[64, 32]", "[96, 32]"});
  // The model itself is fine; its tokenizer is one vkinfer does not build.
  load("bad_tokenizer.gguf");
  expect_error([&] { load_model_tokenizer(gguf_dir() + "bad_tokenizer.gguf"); }, ErrorCode::kUnsupported,
               {"bad_tokenizer.gguf", "tokenizer.ggml.model", "\"t5\""});
}

}  // namespace
}  // namespace vkinfer
