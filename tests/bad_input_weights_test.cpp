// Bad-input matrix, part 1: broken weight files and configs. Each case copies
// a good tiny model (tests/data/models/gpt2: 2 layers, hidden 36, 3 heads,
// vocab 317), breaks one thing, runs the real `vkinfer` binary on it and
// expects a clean failure: a non-zero exit, no crash or hang, and one stderr
// line naming the file and the tensor or field at fault (IsCleanError).
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/cli_runner.h"
#include "tests/support/model_fixture.h"

namespace vkinfer {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CliResult;
using testing::IsCleanError;
using testing::run_vkinfer;
using testing::SafetensorsParts;

class BadWeights : public ::testing::Test {
 protected:
  void SetUp() override { model_ = testing::copy_model("gpt2", temp_.path()); }

  fs::path weights() const { return model_ / "model.safetensors"; }

  // Rewrites the safetensors header after `edit` changed its JSON.
  void edit_header(const std::function<void(json&)>& edit) {
    SafetensorsParts parts = SafetensorsParts::read(weights());
    json header = json::parse(parts.header);
    edit(header);
    parts.header = header.dump();
    parts.write(weights());
  }

  CliResult generate(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"generate", "--model", model_.string(), "--prompt-ids", "1,2",
                                     "--max-new-tokens", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_vkinfer(args);
  }

  testing::TempDir temp_;
  fs::path model_;
};

// A first run on the untouched copy, so every failure below is caused by
// the one corruption and not by the fixture.
TEST_F(BadWeights, UntouchedCopyRuns) {
  const CliResult result = generate({"--json"});
  ASSERT_TRUE(result.exited() && result.exit_code == 0) << result.describe();
}

// ---------------------------------------------------------------- safetensors
TEST_F(BadWeights, TruncatedFile) {
  const std::string bytes = testing::read_bytes(weights());
  testing::write_bytes(weights(), bytes.substr(0, bytes.size() / 2));
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "truncated"});
}

TEST_F(BadWeights, EmptyFile) {
  testing::write_bytes(weights(), "");
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "0 bytes", "too short"});
}

TEST_F(BadWeights, HeaderLengthPastEndOfFile) {
  SafetensorsParts parts = SafetensorsParts::read(weights());
  const uint64_t file_size = 8 + parts.header.size() + parts.data.size();
  testing::write_bytes(weights(), testing::u64_le(file_size) + parts.header + parts.data);
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "header length", "past the end"});
}

TEST_F(BadWeights, HugeHeaderLength) {
  SafetensorsParts parts = SafetensorsParts::read(weights());
  testing::write_bytes(weights(), testing::u64_le(uint64_t{1} << 62) + parts.header + parts.data);
  const CliResult result = generate();
  EXPECT_CLEAN_ERROR(result, {weights().string(), "100 MB"});
}

TEST_F(BadWeights, MalformedHeaderJson) {
  SafetensorsParts parts = SafetensorsParts::read(weights());
  parts.header[parts.header.size() / 2] = '}';  // cuts the object off mid-entry
  parts.write(weights());
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "not valid JSON"});
}

TEST_F(BadWeights, OffsetsOutOfRange) {
  const size_t data_size = SafetensorsParts::read(weights()).data.size();
  edit_header([&](json& h) {
    h["transformer.h.0.ln_1.bias"]["data_offsets"] = {data_size, data_size + 144};
  });
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "transformer.h.0.ln_1.bias", "past the data area"});
}

TEST_F(BadWeights, OffsetsOverlap) {
  // ln_1.bias and ln_1.weight are both [36] F32: same size, so only the
  // overlap is wrong.
  edit_header([](json& h) {
    h["transformer.h.0.ln_1.weight"]["data_offsets"] = h["transformer.h.0.ln_1.bias"]["data_offsets"];
  });
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "transformer.h.0.ln_1", "overlaps"});
}

TEST_F(BadWeights, OffsetsReversed) {
  edit_header([](json& h) {
    auto& offsets = h["transformer.h.0.ln_1.bias"]["data_offsets"];
    offsets = {offsets[1], offsets[0]};
  });
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "transformer.h.0.ln_1.bias", "end before they begin"});
}

TEST_F(BadWeights, UnknownDtype) {
  edit_header([](json& h) { h["transformer.h.0.ln_1.bias"]["dtype"] = "F33"; });
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "transformer.h.0.ln_1.bias", "unknown dtype", "F33"});
}

TEST_F(BadWeights, ShapeDisagreesWithByteCount) {
  edit_header([](json& h) { h["transformer.h.0.ln_1.bias"]["shape"] = {37}; });
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "transformer.h.0.ln_1.bias", "[37]", "needs 148 bytes"});
}

TEST_F(BadWeights, DuplicateTensorName) {
  // nlohmann would merge a repeated key, so the duplicate is written as text.
  SafetensorsParts parts = SafetensorsParts::read(weights());
  const json header = json::parse(parts.header);
  const std::string entry =
      "\"transformer.h.0.ln_1.bias\":" + header["transformer.h.0.ln_1.bias"].dump() + ",";
  parts.header.insert(1, entry);
  parts.write(weights());
  EXPECT_CLEAN_ERROR(generate(), {weights().string(), "transformer.h.0.ln_1.bias", "appears twice"});
}

TEST_F(BadWeights, OnlyPytorchBin) {
  fs::remove(weights());
  testing::write_bytes(model_ / "pytorch_model.bin", "PK\x03\x04 not really a pickle");
  EXPECT_CLEAN_ERROR(generate(), {model_.string(), "pytorch_model.bin", "tools/convert_to_safetensors.py"});
}

TEST_F(BadWeights, ShardCommandReportsTheBrokenFile) {
  edit_header([](json& h) { h["transformer.h.0.ln_1.bias"]["dtype"] = "F33"; });
  EXPECT_CLEAN_ERROR(
      run_vkinfer({"shard", "--model", model_.string(), "--tp", "1", "--out", (temp_ / "out").string()}),
      {weights().string(), "F33"});
}

// ---------------------------------------------------------------- config.json
TEST_F(BadWeights, ConfigMissing) {
  fs::remove(model_ / "config.json");
  EXPECT_CLEAN_ERROR(generate(), {(model_ / "config.json").string()});
}

TEST_F(BadWeights, ConfigMalformedJson) {
  testing::write_bytes(model_ / "config.json", "{\"model_type\": \"gpt2\", \"n_layer\": ");
  EXPECT_CLEAN_ERROR(generate(), {(model_ / "config.json").string(), "malformed JSON"});
}

TEST_F(BadWeights, ConfigUnknownModelType) {
  testing::edit_json(model_ / "config.json", [](json& c) { c["model_type"] = "t5"; });
  EXPECT_CLEAN_ERROR(generate(), {(model_ / "config.json").string(), "t5", "not supported"});
}

TEST_F(BadWeights, ConfigFieldOfWrongType) {
  testing::edit_json(model_ / "config.json", [](json& c) { c["n_layer"] = "two"; });
  EXPECT_CLEAN_ERROR(generate(), {(model_ / "config.json").string(), "n_layer"});
}

TEST_F(BadWeights, ConfigDisagreesWithWeights) {
  // 48 is still divisible by the 3 heads, so only the weights disagree.
  testing::edit_json(model_ / "config.json", [](json& c) { c["n_embd"] = 48; });
  EXPECT_CLEAN_ERROR(generate(), {"tensor 'transformer.wte.weight'", "[317, 36]", "[317, 48]", "config.json"});
}

TEST_F(BadWeights, ConfigAbsurdLayerCountRejectedBeforeAllocating) {
  testing::edit_json(model_ / "config.json", [](json& c) { c["n_layer"] = 1000000000000; });
  const CliResult result = generate();
  EXPECT_CLEAN_ERROR(result, {(model_ / "config.json").string(), "n_layer"});
  // Rejected from config.json alone; building anything for 10^12 layers would
  // take far longer (or run out of memory). Generous for ASan and busy CI.
  EXPECT_LT(result.seconds, 20.0) << result.describe();
  EXPECT_CLEAN_ERROR(run_vkinfer({"plan", "--model", model_.string()}),
                     {(model_ / "config.json").string(), "n_layer"});
}

TEST_F(BadWeights, ConfigHugeButInRangeModelRejectedBeforeAllocating) {
  // Each field is within its limit, but together they describe ~200 TB of
  // weights: the memory plan must refuse before a single upload.
  testing::edit_json(model_ / "config.json", [](json& c) {
    c["n_layer"] = 4096;
    c["n_embd"] = 65536;
    c["n_head"] = 64;
    c["n_inner"] = 262144;
  });
  const CliResult result = generate();
  EXPECT_CLEAN_ERROR(result, {"MiB", "heap", "HINT"});
  EXPECT_EQ(result.exit_code, 4) << "kOutOfMemory's exit code";
  EXPECT_LT(result.seconds, 20.0) << result.describe();
}

}  // namespace
}  // namespace vkinfer
