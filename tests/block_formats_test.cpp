// Host dequantization of every GGUF tensor type vkinfer reads, against the
// `gguf` package (gguf.quants.dequantize) on random blocks. Goldens:
// tests/data/gguf/blocks.json, made by tests/data/gguf/make_gguf_goldens.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/weights/block_formats.h"
#include "engine/weights/weight_format.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::expect_error;

using testing::floats_from_hex;
using testing::from_hex;

// Compares a dequantized run with the gguf package's. Both compute the same
// fp32 products and sums in the same order, so on x86-64 they agree to the
// bit; the tolerance allows one fp32 rounding of the largest value in the
// run (2^-23 relative to it) so that a compiler fusing `d * q - m` into an
// FMA (aarch64, -mfma) still passes. A wrong nibble, bit or scale moves a
// value by at least one quantization step, far more than this.
void expect_dequantized(const std::vector<float>& actual, const std::vector<float>& expected,
                        const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  float largest = 0.0f;
  for (float v : expected) largest = std::max(largest, std::fabs(v));
  const float tolerance = largest * 0x1p-23f;
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_LE(std::fabs(actual[i] - expected[i]), tolerance)
        << what << " element " << i << ": " << actual[i] << " vs gguf " << expected[i];
  }
}

TEST(BlockFormats, DequantizeEqualsGgufPackage) {
  const nlohmann::json golden = testing::load_json_file(testing::test_data_dir() + "/gguf/blocks.json");
  std::vector<std::string> seen;
  for (const auto& c : golden.at("cases")) {
    const std::string name = c.at("type");
    const BlockFormat* format = find_block_format(c.at("ggml_type").get<uint32_t>());
    ASSERT_NE(format, nullptr) << name;
    EXPECT_EQ(name, format->name);
    const std::vector<uint8_t> bytes = from_hex(c.at("bytes"));
    const std::vector<float> expected = floats_from_hex(c.at("values"));
    ASSERT_EQ(static_cast<int64_t>(expected.size()), c.at("elements").get<int64_t>());
    const std::vector<float> whole = dequantize(format->type, bytes, static_cast<int64_t>(expected.size()));
    expect_dequantized(whole, expected, name);

    // Block by block gives the same values as the whole run: a block
    // decoder reads nothing outside its own block.
    const auto per_block = static_cast<size_t>(format->block_elements);
    std::vector<float> one(per_block);
    for (size_t b = 0; b < expected.size() / per_block; ++b) {
      dequantize(format->type, std::span(bytes).subspan(b * format->block_bytes, format->block_bytes), one);
      for (size_t j = 0; j < per_block; ++j) ASSERT_EQ(one[j], whole[b * per_block + j]) << name << " block " << b;
    }
    seen.push_back(name);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
                                            "Q5_1", "Q4_K", "Q6_K", "Q5_K"}));
}

TEST(BlockFormats, TableAgreesWithWeightFormats) {
  for (GgmlType type : {GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16, GgmlType::kQ8_0,
                        GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                        GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K}) {
    const BlockFormat& block = block_format(type);
    const WeightFormat& weights = weight_format(type);
    EXPECT_EQ(block.block_elements, weights.block_elements) << block.name;
    EXPECT_EQ(block.block_bytes, weights.block_bytes) << block.name;
    EXPECT_EQ(weights.plain(), block.block_elements == 1) << block.name;
    EXPECT_EQ(std::string(ggml_type_name(static_cast<uint32_t>(type))), block.name);
  }
  // The block formats are in the table but not (yet) a --dtype.
  expect_error([] { parse_weight_format("q8_0"); }, ErrorCode::kInvalidArgument, {"'q8_0'", "f32, f16, bf16"});
  EXPECT_EQ(find_block_format(16), nullptr);
  EXPECT_STREQ(ggml_type_name(16), "IQ2_XXS");
  EXPECT_STREQ(ggml_type_name(13), "Q5_K");
  EXPECT_EQ(find_block_format(4), nullptr);  // Q4_2, long removed
  EXPECT_STREQ(ggml_type_name(1000), "unknown");
}

// Hand-made blocks pin down the layout facts the goldens only imply.
TEST(BlockFormats, LayoutByHand) {
  // Q4_0, d = 1.0 (0x3c00): byte j's low nibble is weight j, high weight j+16.
  std::vector<uint8_t> q4(18, 0);
  q4[0] = 0x00;
  q4[1] = 0x3c;
  q4[2] = 0xf0;  // weight 0 -> 0 - 8, weight 16 -> 15 - 8
  const std::vector<float> y = dequantize(GgmlType::kQ4_0, q4, 32);
  EXPECT_EQ(y[0], -8.0f);
  EXPECT_EQ(y[16], 7.0f);
  EXPECT_EQ(y[1], -8.0f);

  // Q5_0: bit j of qh is weight j's fifth bit; weight 17's is bit 17.
  std::vector<uint8_t> q5(22, 0);
  q5[1] = 0x3c;
  q5[2 + 2] = 0x02;  // qh bit 17
  const std::vector<float> z = dequantize(GgmlType::kQ5_0, q5, 32);
  EXPECT_EQ(z[17], 0.0f);   // 16 - 16
  EXPECT_EQ(z[16], -16.0f);
  EXPECT_EQ(z[1], -16.0f);
}

TEST(BlockFormats, SizeMismatchIsAnError) {
  std::vector<uint8_t> bytes(34 * 2);
  std::vector<float> out(32 * 3);
  expect_error([&] { dequantize(GgmlType::kQ8_0, bytes, out); }, ErrorCode::kInternal, {"Q8_0", "68 bytes", "96 weights"});
  std::vector<float> odd(40);
  expect_error([&] { dequantize(GgmlType::kQ8_0, bytes, odd); }, ErrorCode::kInternal, {"32-weight blocks"});
}

}  // namespace
}  // namespace vkinfer
