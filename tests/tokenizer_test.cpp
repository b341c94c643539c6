// Tokenizers against Hugging Face: every expected id and decoded string comes
// from transformers 4.40 / tokenizers 0.19 (../shared/golden/tokenizers.json,
// tests/data/golden/tokenizers_tiny.json made by tests/golden/make_goldens.py,
// and tests/data/tokenizer/{tokenizer,normalizer}_goldens.json made by the
// make_*.py scripts in that folder). Error cases check that bad folders raise
// vkinfer::Error naming the offending file.
#include <gtest/gtest.h>

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

fs::path shared_dir() {
  const char* env = std::getenv("VKINFER_SHARED_DIR");
  return env ? fs::path(env) : fs::path();
}

bool have_shared() { return !shared_dir().empty() && fs::is_directory(shared_dir() / "models"); }

#define REQUIRE_SHARED() \
  if (!have_shared()) GTEST_SKIP() << "VKINFER_SHARED_DIR (../shared) is absent; HF tokenizer files are needed"

fs::path test_data() { return testing::test_data_dir(); }
json read_json(const fs::path& path) { return testing::load_json_file(path.string()); }

const json& our_goldens() {
  static const json goldens = read_json(test_data() / "tokenizer/tokenizer_goldens.json");
  return goldens;
}

const json& shared_goldens() {
  static const json goldens = read_json(shared_dir() / "golden/tokenizers.json");
  return goldens;
}

std::vector<int32_t> ids_of(const json& j) { return j.get<std::vector<int32_t>>(); }

using testing::TempDir;

fs::path gpt2_dir() { return shared_dir() / "models/gpt2-tokenizer"; }
fs::path bert_dir() { return shared_dir() / "models/bert-base-uncased-tokenizer"; }
fs::path llama_dir() { return shared_dir() / "models/stories260K"; }

// The GPT-2 folder without tokenizer.json, so that load() takes vocab.json +
// merges.txt as transformers' slow GPT2Tokenizer does.
std::unique_ptr<Tokenizer> load_gpt2_classic(const TempDir& dir) {
  for (const char* name : {"vocab.json", "merges.txt", "tokenizer_config.json", "config.json"}) {
    dir.link(gpt2_dir() / name);
  }
  return Tokenizer::load(dir.path());
}

std::string stream_decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  StreamDecoder stream(tok, skip_special);
  std::string text;
  for (int32_t id : ids) text += stream.push(id);
  return text + stream.flush();
}

// Checks one golden row: encode with and without special tokens, decode with
// and without skipping them, and the streamed decode.
void expect_row(const Tokenizer& tok, const json& row) {
  const std::string text = row["text"];
  SCOPED_TRACE("text: " + json(text).dump());
  const std::vector<int32_t> ids = ids_of(row.contains("ids") ? row["ids"] : row["input_ids"]);
  const Encoding enc = tok.encode(text);
  EXPECT_EQ(enc.ids, ids);
  ASSERT_EQ(enc.tokens.size(), enc.ids.size());
  if (row.contains("token_type_ids")) {
    EXPECT_EQ(enc.type_ids, ids_of(row["token_type_ids"]));
  }
  if (row.contains("ids_no_special")) {
    EXPECT_EQ(tok.encode(text, false).ids, ids_of(row["ids_no_special"]));
  }
  if (row.contains("decoded")) {
    EXPECT_EQ(tok.decode(ids), row["decoded"].get<std::string>());
    EXPECT_EQ(stream_decode(tok, ids, false), row["decoded"].get<std::string>());
  }
  if (row.contains("decoded_skip_special")) {
    EXPECT_EQ(tok.decode(ids, true), row["decoded_skip_special"].get<std::string>());
    EXPECT_EQ(stream_decode(tok, ids, true), row["decoded_skip_special"].get<std::string>());
  }
}

void expect_pair_row(const Tokenizer& tok, const json& row) {
  const std::string a = row["text"], b = row["pair"];
  const int max_length = row.value("max_length", 0);
  SCOPED_TRACE("pair: " + json(a).dump() + " / " + json(b).dump() + " max_length " + std::to_string(max_length));
  const Encoding enc = tok.encode_pair(a, b, true, max_length);
  EXPECT_EQ(enc.ids, ids_of(row.contains("ids") ? row["ids"] : row["input_ids"]));
  const json& types = row.contains("type_ids") ? row["type_ids"] : row["token_type_ids"];
  if (!types.is_null()) {
    EXPECT_EQ(enc.type_ids, ids_of(types));
  }
}

TEST(TokenizerGpt2, ClassicFilesMatchTransformers) {
  REQUIRE_SHARED();
  TempDir dir;
  const auto tok = load_gpt2_classic(dir);
  for (const json& row : shared_goldens()["gpt2"]) expect_row(*tok, row);
  for (const json& row : our_goldens()["gpt2"]) expect_row(*tok, row);
}

TEST(TokenizerGpt2, TokenizerJsonMatchesTransformers) {
  REQUIRE_SHARED();
  const auto tok = Tokenizer::load(gpt2_dir());
  for (const json& row : shared_goldens()["gpt2"]) expect_row(*tok, row);
  for (const json& row : our_goldens()["gpt2"]) expect_row(*tok, row);
  EXPECT_EQ(tok->vocab_size(), 50257);
  EXPECT_EQ(tok->eos_id(), 50256);
  EXPECT_EQ(tok->bos_id(), 50256);
  EXPECT_EQ(tok->cls_id(), -1);
}

TEST(TokenizerGpt2, SpecialTokenInsidePromptBecomesItsId) {
  REQUIRE_SHARED();
  const auto tok = Tokenizer::load(gpt2_dir());
  // transformers' ids for "a<|endoftext|>b <|endoftext|> c<|endoftext|>".
  for (const json& row : our_goldens()["gpt2"]) {
    if (row["text"].get<std::string>().find("<|endoftext|>") == std::string::npos) continue;
    const std::vector<int32_t> ids = tok->encode(row["text"].get<std::string>()).ids;
    EXPECT_EQ(ids, ids_of(row["ids"]));
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 50256), 3);
  }
}

TEST(TokenizerBert, MatchesTransformersSinglesAndPairs) {
  REQUIRE_SHARED();
  const auto tok = Tokenizer::load(bert_dir());
  for (const json& row : shared_goldens()["bert-base-uncased"]) expect_row(*tok, row);
  for (const json& row : shared_goldens()["bert-base-uncased-pairs"]) expect_pair_row(*tok, row);
  for (const json& row : our_goldens()["bert-base-uncased"]) expect_row(*tok, row);
  for (const json& row : our_goldens()["bert-base-uncased-pairs"]) expect_pair_row(*tok, row);
  EXPECT_EQ(tok->cls_id(), 101);
  EXPECT_EQ(tok->sep_id(), 102);
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->vocab_size(), 30522);
}

TEST(TokenizerBert, OverlongWordBecomesUnk) {
  REQUIRE_SHARED();
  const auto tok = Tokenizer::load(bert_dir());
  // BertTokenizer's max_input_chars_per_word is 100: 101 letters are one [UNK]
  // while 100 letters are split into word pieces.
  EXPECT_EQ(tok->encode(std::string(101, 'a'), false).ids, std::vector<int32_t>{tok->unk_id()});
  EXPECT_GT(tok->encode(std::string(100, 'a'), false).ids.size(), 1u);
}

TEST(TokenizerLlama, SentencePieceByteFallbackMatchesTransformers) {
  REQUIRE_SHARED();
  const auto tok = Tokenizer::load(llama_dir());
  for (const json& row : our_goldens()["stories260K"]) expect_row(*tok, row);
  for (const json& row : our_goldens()["stories260K-pairs"]) expect_pair_row(*tok, row);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->vocab_size(), 512);
}

TEST(TokenizerDecode, InvalidBytesAndOpenRunsMatchTransformers) {
  REQUIRE_SHARED();
  TempDir dir;
  const auto gpt2 = load_gpt2_classic(dir);
  const auto llama = Tokenizer::load(llama_dir());
  for (const json& row : our_goldens()["decode"]) {
    const Tokenizer& tok = row["tokenizer"] == "gpt2" ? *gpt2 : *llama;
    const std::vector<int32_t> ids = ids_of(row["ids"]);
    SCOPED_TRACE(row.dump());
    EXPECT_EQ(tok.decode(ids), row["decoded"].get<std::string>());
    EXPECT_EQ(tok.decode(ids, true), row["decoded_skip_special"].get<std::string>());
    EXPECT_EQ(stream_decode(tok, ids, false), row["decoded"].get<std::string>());
    EXPECT_EQ(stream_decode(tok, ids, true), row["decoded_skip_special"].get<std::string>());
  }
}

TEST(TokenizerStream, HoldsBackByteRunUntilClosed) {
  REQUIRE_SHARED();
  const auto llama = Tokenizer::load(llama_dir());
  // "🙂" is not in the 512-token vocabulary, so it is four <0xXX> tokens; HF
  // decodes such a run as a whole, so nothing may come out while it is open.
  const std::vector<int32_t> ids = llama->encode("x 🙂 a", false).ids;
  StreamDecoder stream(*llama);
  std::string streamed;
  size_t byte_tokens = 0;
  for (int32_t id : ids) {
    const bool is_byte = llama->id_to_token(id).rfind("<0x", 0) == 0;
    const std::string piece = stream.push(id);
    if (is_byte) {
      ++byte_tokens;
      EXPECT_EQ(piece, "") << "emitted text while the byte run was open, at " << llama->id_to_token(id);
    }
    streamed += piece;
  }
  EXPECT_EQ(byte_tokens, 4u);
  streamed += stream.flush();
  EXPECT_EQ(streamed, llama->decode(ids));
}

TEST(TokenizerStream, LongGenerationRebasesAndStaysExact) {
  REQUIRE_SHARED();
  // Long inputs exercise the window rebase; the reference is the one-shot
  // decode, itself checked against transformers above.
  std::string text;
  for (const json& row : our_goldens()["gpt2"]) text += row["text"].get<std::string>() + " ";
  TempDir dir;
  for (const auto& tok : {Tokenizer::load(gpt2_dir()), Tokenizer::load(bert_dir()), Tokenizer::load(llama_dir())}) {
    const std::vector<int32_t> ids = tok->encode(text).ids;
    ASSERT_GT(ids.size(), 300u);
    EXPECT_EQ(stream_decode(*tok, ids, false), tok->decode(ids));
    EXPECT_EQ(stream_decode(*tok, ids, true), tok->decode(ids, true));
  }
}

TEST(TokenizerInput, RejectsInvalidUtf8AndUnknownIds) {
  REQUIRE_SHARED();
  const auto tok = Tokenizer::load(gpt2_dir());
  try {
    tok->encode("ok \xC3\x28 bad");
    FAIL() << "expected an error for ill-formed UTF-8";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("offset 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tok->decode({50257}), Error);
  EXPECT_THROW(tok->decode({-1}), Error);
}

// Expects load(dir) to throw vkinfer::Error whose message names `file`.
void expect_load_error(const fs::path& dir, const std::string& file, ErrorCode code = ErrorCode::kBadFile) {
  try {
    Tokenizer::load(dir);
    ADD_FAILURE() << "expected an error naming " << file;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << "message does not name " << file << ": " << e.what();
  }
}

const json& tiny_goldens() {
  static const json goldens = read_json(test_data() / "golden/tokenizers_tiny.json");
  return goldens;
}

// tokenizer.json, tokenizer_config.json and special_tokens_map.json, minus the
// truncation/padding state a fast tokenizer saves, which transformers resets
// on every call.
json tokenizer_files(const fs::path& dir) {
  json files = json::object();
  for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    if (fs::exists(dir / name)) files[name] = read_json(dir / name);
  }
  if (files.contains("tokenizer.json")) {
    files["tokenizer.json"].erase("truncation");
    files["tokenizer.json"].erase("padding");
  }
  return files;
}

void expect_tiny_golden(const fs::path& dir, const json& golden) {
  SCOPED_TRACE("folder " + dir.string());
  const auto tok = Tokenizer::load(dir);
  for (const json& row : golden["cases"]) {
    expect_row(*tok, row);
    EXPECT_EQ(tok->encode(row["text"].get<std::string>()).tokens, row["tokens"].get<std::vector<std::string>>())
        << "text: " << json(row["text"]).dump();
  }
  EXPECT_EQ(tok->vocab_size(), golden["vocab_size"].get<int32_t>());
  for (int32_t id : golden["special_ids"].get<std::vector<int32_t>>()) EXPECT_TRUE(tok->is_special(id)) << id;
}

TEST(TokenizerTiny, EveryModelFolderMatchesTransformers) {
  // The goldens are recorded once per tokenizer, from the first folder that
  // uses it; every other folder must hold the same tokenizer files, so that
  // no tiny model's tokenizer goes unchecked.
  const json& goldens = tiny_goldens()["tokenizers"];
  ASSERT_FALSE(goldens.empty());
  size_t folders = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(test_data() / "models")) {
    if (!entry.is_directory()) continue;
    ++folders;
    const json files = tokenizer_files(entry.path());
    const json* match = nullptr;
    for (const auto& [name, golden] : goldens.items()) {
      if (tokenizer_files(test_data() / golden["folder"].get<std::string>()) == files) match = &golden;
    }
    if (match == nullptr) {
      ADD_FAILURE() << entry.path() << ": no entry of tokenizers_tiny.json has this folder's tokenizer";
      continue;
    }
    expect_tiny_golden(entry.path(), *match);
  }
  EXPECT_GE(folders, goldens.size());
}

TEST(TokenizerTiny, ClassicFilesMatchSlowTransformers) {
  // Without tokenizer.json, load() reads vocab.json + merges.txt or vocab.txt,
  // as transformers' slow tokenizers do; the goldens record their ids.
  for (const auto& [name, golden] : tiny_goldens()["tokenizers"].items()) {
    if (golden["slow_class"].is_null()) continue;
    SCOPED_TRACE(name);
    const fs::path folder = test_data() / golden["folder"].get<std::string>();
    TempDir dir;
    for (const fs::directory_entry& f : fs::directory_iterator(folder)) {
      if (f.path().filename() != "tokenizer.json") dir.link(f.path());
    }
    const auto tok = Tokenizer::load(dir.path());
    for (const json& row : golden["cases"]) {
      const std::string text = row["text"];
      EXPECT_EQ(tok->encode(text).ids, ids_of(row.contains("slow_ids") ? row["slow_ids"] : row["ids"]))
          << "text: " << json(text).dump();
    }
  }
}

const json& normalizer_goldens() {
  static const json goldens = read_json(test_data() / "tokenizer/normalizer_goldens.json");
  return goldens;
}

TEST(TokenizerNormalizer, NeoxNfcComposesLikeTransformers) {
  const auto tok = Tokenizer::load(test_data() / "models/gpt_neox");
  for (const json& row : normalizer_goldens()["gpt_neox"]) expect_row(*tok, row);
  // "e" + U+0301 must reach the BPE as U+00E9, the same ids as the composed form.
  EXPECT_EQ(tok->encode("e\xCC\x81").ids, tok->encode("\xC3\xA9").ids);
}

TEST(TokenizerNormalizer, EachNormalizerMatchesTokenizers) {
  // The same edit make_normalizer_goldens.py made: the NeoX tokenizer.json
  // with another normalizer and possibly more added tokens.
  const json base = read_json(test_data() / "models/gpt_neox/tokenizer.json");
  for (const json& variant : normalizer_goldens()["variants"]) {
    SCOPED_TRACE(variant["name"].get<std::string>());
    json spec = base;
    spec["normalizer"] = variant["normalizer"];
    for (const json& added : variant["added_tokens"]) spec["added_tokens"].push_back(added);
    TempDir dir;
    dir.write("tokenizer.json", spec.dump());
    const auto tok = Tokenizer::load(dir.path());
    for (const json& row : variant["cases"]) {
      EXPECT_EQ(tok->encode(row["text"].get<std::string>()).ids, ids_of(row["ids"]))
          << "text: " << json(row["text"]).dump() << " normalized by HF to " << json(row["normalized"]).dump();
    }
  }
}

TEST(TokenizerErrors, UnsupportedNormalizerIsNamed) {
  json spec = read_json(test_data() / "models/gpt_neox/tokenizer.json");
  for (const json& normalizer :
       {json{{"type", "Precompiled"}, {"precompiled_charsmap", ""}},
        json{{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Nmt"}}}}},
        json{{"type", "NoSuchNormalizer"}}}) {
    spec["normalizer"] = normalizer;
    TempDir dir;
    dir.write("tokenizer.json", spec.dump());
    expect_load_error(dir.path(), "tokenizer.json", ErrorCode::kUnsupported);
  }
  spec["normalizer"] = json{{"type", "Replace"}, {"content", " "}};  // no pattern
  TempDir dir;
  dir.write("tokenizer.json", spec.dump());
  expect_load_error(dir.path(), "tokenizer.json");
}

TEST(TokenizerErrors, MissingFolderAndFiles) {
  TempDir dir;
  expect_load_error(dir.path() / "nope", "nope");
  expect_load_error(dir.path(), dir.path().filename().string());  // empty folder
  dir.write("vocab.json", R"({"a": 0})");
  expect_load_error(dir.path(), "merges.txt");  // vocab.json without merges.txt
}

TEST(TokenizerErrors, MalformedJson) {
  TempDir dir;
  dir.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0}, )");
  expect_load_error(dir.path(), "tokenizer.json");
  TempDir classic;
  classic.write("vocab.json", "[1, 2");
  classic.write("merges.txt", "#version: 0.2\n");
  expect_load_error(classic.path(), "vocab.json");
  TempDir config;
  config.write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  config.write("tokenizer_config.json", "{\"do_lower_case\": tru");
  expect_load_error(config.path(), "tokenizer_config.json");
}

TEST(TokenizerErrors, EmptyVocabulary) {
  TempDir classic;
  classic.write("vocab.json", "{}");
  classic.write("merges.txt", "#version: 0.2\n");
  expect_load_error(classic.path(), "vocab.json");
  TempDir json_dir;
  json_dir.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {}, "merges": [], "byte_fallback": true},
    "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}})");
  expect_load_error(json_dir.path(), "tokenizer.json");
  TempDir wordpiece;
  wordpiece.write("vocab.txt", "");
  expect_load_error(wordpiece.path(), "vocab.txt");
}

TEST(TokenizerErrors, MergesNamingUnknownTokens) {
  // A byte-level vocabulary with every byte symbol, so only the merge is wrong.
  json vocab = json::object();
  std::vector<std::string> symbols;
  for (int b = 0, next = 256; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    std::string s;
    const int cp = printable ? b : next++;
    if (cp < 0x80) s.push_back(static_cast<char>(cp));
    else if (cp < 0x800) s += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
    vocab[s] = b;
  }
  TempDir dir;
  dir.write("vocab.json", vocab.dump());
  dir.write("merges.txt", "#version: 0.2\na b\nab zz\n");  // "ab" is not in the vocabulary
  expect_load_error(dir.path(), "merges.txt");
  vocab["ab"] = 256;
  TempDir ok;
  ok.write("vocab.json", vocab.dump());
  ok.write("merges.txt", "#version: 0.2\na b\n");
  const auto tok = Tokenizer::load(ok.path());  // the same files minus the bad merge load
  EXPECT_EQ(tok->encode("ab", false).ids, std::vector<int32_t>{256});
  TempDir json_dir;
  json_dir.write("tokenizer.json", json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a zz"}}}},
                                        {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}}}
                                       .dump());
  expect_load_error(json_dir.path(), "tokenizer.json");
}

TEST(TokenizerErrors, UnsupportedModelTypeIsNamed) {
  TempDir dir;
  dir.write("tokenizer.json", R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}})");
  expect_load_error(dir.path(), "tokenizer.json", ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace vkinfer
