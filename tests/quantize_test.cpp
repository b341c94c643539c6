// Host quantizers (engine/weights/quantize.h) and the --quant recipes
// (engine/weights/quant_recipe.h).
//  - Q8_0, Q4_0, Q4_1, Q5_0, Q5_1: bytes equal gguf.quants.quantize's on
//    random and edge-case rows (tests/data/gguf/quant.json, made by
//    tests/data/gguf/make_quant_goldens.py).
//  - Q4_K, Q6_K (no reference quantizer in gguf): blocks that block_formats'
//    dequantizer (bit-identical to gguf's) turns back into values within a
//    stated RMSE of the input, better than a naive min/max rounding.
//  - The q4_k_m table and the row-length fallbacks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/half.h"
#include "engine/weights/block_formats.h"
#include "engine/weights/quant_recipe.h"
#include "engine/weights/quantize.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::expect_error;

using testing::floats_from_hex;
using testing::from_hex;

std::vector<float> gaussian(size_t n, float sigma, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

double rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(sum / static_cast<double>(a.size()));
}

std::vector<float> round_trip(GgmlType type, const std::vector<float>& x, int64_t rows, int64_t cols) {
  const std::vector<uint8_t> bytes = quantize_rows(type, x, rows, cols);
  return dequantize(type, bytes, rows * cols);
}

TEST(Quantize, SimpleTypesEqualGgufPackage) {
  const nlohmann::json golden = testing::load_json_file(testing::test_data_dir() + "/gguf/quant.json");
  const int64_t cols = golden.at("cols");
  std::vector<float> matrix;
  std::vector<std::string> row_names;
  for (const auto& row : golden.at("rows")) {
    const std::vector<float> values = floats_from_hex(row.at("values"));
    ASSERT_EQ(static_cast<int64_t>(values.size()), cols);
    matrix.insert(matrix.end(), values.begin(), values.end());
    row_names.push_back(row.at("name"));
  }
  const auto rows = static_cast<int64_t>(row_names.size());
  std::vector<std::string> seen;
  for (const auto& t : golden.at("types")) {
    const std::string name = t.at("type");
    const BlockFormat* format = find_block_format(t.at("ggml_type").get<uint32_t>());
    ASSERT_NE(format, nullptr) << name;
    const std::vector<uint8_t> expected = from_hex(t.at("bytes"));
    const std::vector<uint8_t> actual = quantize_rows(format->type, matrix, rows, cols);
    ASSERT_EQ(actual.size(), expected.size()) << name;
    const size_t row_bytes = actual.size() / static_cast<size_t>(rows);
    for (size_t i = 0; i < actual.size(); ++i) {
      const size_t row = i / row_bytes;
      const size_t block = (i % row_bytes) / static_cast<size_t>(format->block_bytes);
      ASSERT_EQ(actual[i], expected[i])
          << name << " row '" << row_names[row] << "' block " << block << " byte "
          << (i % row_bytes) % format->block_bytes << " differs from gguf.quants.quantize";
    }
    // The first row alone gives the same bytes as within the matrix.
    const std::vector<float> first(matrix.begin(), matrix.begin() + cols);
    const std::vector<uint8_t> one = quantize_rows(format->type, first, 1, cols);
    EXPECT_TRUE(std::equal(one.begin(), one.end(), actual.begin())) << name;
    seen.push_back(name);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"}));
}

TEST(Quantize, PlainTypesConvert) {
  const std::vector<float> x = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 1e-8f, 3.14159265f,
                                std::numeric_limits<float>::infinity()};
  const auto n = static_cast<int64_t>(x.size());
  const std::vector<uint8_t> f32 = quantize_rows(GgmlType::kF32, x, 1, n);
  EXPECT_EQ(std::memcmp(f32.data(), x.data(), f32.size()), 0);
  const std::vector<uint8_t> f16 = quantize_rows(GgmlType::kF16, x, 1, n);
  const std::vector<uint8_t> bf16 = quantize_rows(GgmlType::kBF16, x, 2, n / 2);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(f16[2 * i] | (f16[2 * i + 1] << 8), f32_to_f16(x[i])) << i;
    EXPECT_EQ(bf16[2 * i] | (bf16[2 * i + 1] << 8), f32_to_bf16(x[i])) << i;
  }
}

// Naive baselines with unquantized fp32 scales, which favours them: Q4_K's
// sub-blocks of 32 fitted by min/max (x = d * q + min, q in 0..15); Q6_K's
// groups of 16 by absmax (x = d * q, q in -32..31, d = absmax / 32 so that
// the largest-magnitude value lands on -32 or, if positive, clips to 31).
std::vector<float> naive_min_max(const std::vector<float>& x, int group, int levels) {
  std::vector<float> y(x.size());
  for (size_t g = 0; g < x.size(); g += group) {
    float lo = x[g], hi = x[g];
    for (int i = 1; i < group; ++i) {
      lo = std::min(lo, x[g + i]);
      hi = std::max(hi, x[g + i]);
    }
    const float d = (hi - lo) / static_cast<float>(levels - 1);
    for (int i = 0; i < group; ++i) {
      const float q = d > 0 ? std::round((x[g + i] - lo) / d) : 0.0f;
      y[g + i] = d * q + lo;
    }
  }
  return y;
}

std::vector<float> naive_absmax(const std::vector<float>& x, int group) {
  std::vector<float> y(x.size());
  for (size_t g = 0; g < x.size(); g += group) {
    float amax = 0;
    for (int i = 0; i < group; ++i) amax = std::max(amax, std::fabs(x[g + i]));
    const float d = amax / 32.0f;
    for (int i = 0; i < group; ++i) {
      const float q = d > 0 ? std::clamp(std::round(x[g + i] / d), -32.0f, 31.0f) : 0.0f;
      y[g + i] = d * q;
    }
  }
  return y;
}

// Round trip of N(0, sigma^2) weights, 64 rows of 1024, RMSE relative to
// sigma. Measured: Q4_K 0.0713 (naive 0.0781), Q6_K 0.0178 (naive 0.0221),
// the same at both sigmas since everything scales. For scale: a 4-bit grid
// over a 32-weight sub-block's range (about 4.1 sigma) has steps of 0.27
// sigma, i.e. 0.079 sigma RMSE for plain rounding; Q6_K has 64 levels over
// 16 weights. The bounds sit ~7% above the measured values: a scale search
// that stopped helping, or scales packed wrongly, fails them.
TEST(Quantize, KQuantRoundTripError) {
  constexpr int64_t kRows = 64;
  constexpr int64_t kCols = 1024;
  for (float sigma : {1.0f, 0.02f}) {
    const std::vector<float> x = gaussian(kRows * kCols, sigma, 7);
    const double q4k = rmse(x, round_trip(GgmlType::kQ4_K, x, kRows, kCols)) / sigma;
    const double q6k = rmse(x, round_trip(GgmlType::kQ6_K, x, kRows, kCols)) / sigma;
    const double naive4 = rmse(x, naive_min_max(x, 32, 16)) / sigma;
    const double naive6 = rmse(x, naive_absmax(x, 16)) / sigma;
    std::printf("sigma %g: rmse/sigma Q4_K %.5f (naive %.5f), Q6_K %.5f (naive %.5f)\n", sigma, q4k,
                naive4, q6k, naive6);
    EXPECT_LT(q4k, 0.0760) << sigma;
    EXPECT_LT(q6k, 0.0190) << sigma;
    EXPECT_LT(q4k, naive4) << sigma;
    EXPECT_LT(q6k, naive6) << sigma;
  }
}

// Rows that stress the scale search: all zeros (exact zeros back), a
// constant, one huge outlier, one sign only, small values. Every value
// comes back within a loose envelope (a fraction of the row's largest
// magnitude); values below what fp16 scales resolve stay that small.
TEST(Quantize, KQuantEdgeRows) {
  constexpr int64_t kCols = 256;
  std::vector<std::pair<std::string, std::vector<float>>> rows;
  rows.emplace_back("zeros", std::vector<float>(kCols, 0.0f));
  rows.emplace_back("constant", std::vector<float>(kCols, 0.75f));
  rows.emplace_back("negative_constant", std::vector<float>(kCols, -1.5f));
  std::vector<float> outlier = gaussian(kCols, 1.0f, 3);
  outlier[77] = 1000.0f;
  rows.emplace_back("outlier", outlier);
  std::vector<float> negative = gaussian(kCols, 1.0f, 4);
  for (float& v : negative) v = -std::fabs(v) - 0.01f;
  rows.emplace_back("negative_only", negative);
  rows.emplace_back("small", gaussian(kCols, 1e-3f, 5));
  // Below what the fp16 super-block scales resolve (Q6_K's d would be
  // ~1e-9, under fp16's smallest subnormal): the block comes back as
  // zeros or coarse, never as garbage.
  rows.emplace_back("below_fp16", gaussian(kCols, 1e-6f, 6));
  for (GgmlType type : {GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    for (const auto& [name, x] : rows) {
      const std::vector<float> y = round_trip(type, x, 1, kCols);
      float amax = 0;
      for (float v : x) amax = std::max(amax, std::fabs(v));
      // 4 bits: half a step of a 15-level grid over [-amax, amax] plus the
      // 6-bit scale rounding: amax / 10 is a generous envelope; 6 bits: /40.
      const float envelope = amax / (type == GgmlType::kQ4_K ? 10.0f : 40.0f);
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_TRUE(std::isfinite(y[i])) << name;
        if (name == "outlier" && i != 77) continue;  // the small ones share a scale with 1000
        if (name == "below_fp16") {
          // fp16's smallest step (6e-8) times Q4_K's 63 min levels is 4e-6,
          // the size of these values, so they come back coarse (as in
          // llama.cpp), but on that scale: 6e-8 * 63 * 15 < 1e-4.
          ASSERT_LE(std::fabs(y[i]), 1e-4f) << block_format(type).name << " [" << i << "]";
          continue;
        }
        ASSERT_LE(std::fabs(y[i] - x[i]), envelope)
            << block_format(type).name << " " << name << " [" << i << "] " << x[i] << " -> " << y[i];
      }
      if (name == "zeros") {
        for (float v : y) ASSERT_EQ(v, 0.0f) << block_format(type).name;
      }
    }
  }
}

// Big tensors are quantized on several threads: the bytes are the same as
// one row at a time.
TEST(Quantize, ThreadedEqualsRowByRow) {
  constexpr int64_t kRows = 1024;
  constexpr int64_t kCols = 1024;
  const std::vector<float> x = gaussian(kRows * kCols, 0.5f, 11);
  for (GgmlType type : {GgmlType::kQ4_K, GgmlType::kQ8_0}) {
    const std::vector<uint8_t> all = quantize_rows(type, x, kRows, kCols);
    const uint64_t row_bytes = quantized_bytes(type, 1, kCols);
    std::vector<uint8_t> one(row_bytes);
    for (int64_t r = 0; r < kRows; r += 97) {
      quantize_rows(type, x.data() + r * kCols, 1, kCols, one.data());
      ASSERT_EQ(std::memcmp(one.data(), all.data() + r * row_bytes, row_bytes), 0) << r;
    }
  }
}

TEST(Quantize, BadInputIsAnError) {
  const std::vector<float> x(96, 1.0f);
  expect_error([&] { quantize_rows(GgmlType::kQ8_0, x, 2, 48); }, ErrorCode::kInvalidArgument,
               {"Q8_0", "48 weights", "32-weight blocks"});
  expect_error([&] { quantize_rows(GgmlType::kQ4_K, x, 1, 96); }, ErrorCode::kInvalidArgument,
               {"Q4_K", "256-weight"});
  expect_error([&] { quantize_rows(GgmlType::kQ8_0, x, 2, 32); }, ErrorCode::kInvalidArgument,
               {"96 values", "2 x 32"});
  expect_error([&] { quantize_rows(GgmlType::kQ8_0, x, -1, 32); }, ErrorCode::kInvalidArgument, {"negative"});
  std::vector<float> bad = x;
  bad[40] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { quantize_rows(GgmlType::kQ4_0, bad, 3, 32); }, ErrorCode::kInvalidArgument,
               {"Q4_0", "row 1 column 8", "nan"});
  std::vector<float> inf(512, 0.5f);
  inf[300] = -std::numeric_limits<float>::infinity();
  expect_error([&] { quantize_rows(GgmlType::kQ6_K, inf, 2, 256); }, ErrorCode::kInvalidArgument,
               {"Q6_K", "row 1 column 44", "-inf"});
  // Plain types keep non-finite values (F16 and BF16 have them too).
  EXPECT_EQ(quantize_rows(GgmlType::kF16, inf, 2, 256).size(), 1024u);
}

// ---- recipes

TEST(QuantRecipe, Parse) {
  const QuantRecipe m = parse_quant_recipe("Q4_K_M");
  EXPECT_EQ(m.name, "q4_k_m");
  EXPECT_EQ(m.base, GgmlType::kQ4_K);
  EXPECT_TRUE(m.k_mixed);
  EXPECT_EQ(parse_quant_recipe("q8_0").base, GgmlType::kQ8_0);
  EXPECT_FALSE(parse_quant_recipe("q6_k").k_mixed);
  expect_error([] { parse_quant_recipe("f16"); }, ErrorCode::kInvalidArgument,
               {"'f16'", "q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q6_k, q4_k_m"});
  expect_error([] { parse_quant_recipe(""); }, ErrorCode::kInvalidArgument, {"q4_k_m"});
}

// llama.cpp's use_more_bits for 32 layers: the first and last four and
// every third layer from 6: 0-3, 6, 9, ..., 27, 28-31.
TEST(QuantRecipe, UseMoreBits) {
  std::vector<int64_t> more;
  for (int64_t i = 0; i < 32; ++i)
    if (quant_use_more_bits(i, 32)) more.push_back(i);
  EXPECT_EQ(more, (std::vector<int64_t>{0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}));
  more.clear();
  for (int64_t i = 0; i < 4; ++i)
    if (quant_use_more_bits(i, 4)) more.push_back(i);
  // n/8 = 0, 7n/8 = 3: layer 3, and (i - 0) % 3 == 2: layer 2.
  EXPECT_EQ(more, (std::vector<int64_t>{2, 3}));
}

TEST(QuantRecipe, Q4KMTable) {
  const QuantRecipe r = parse_quant_recipe("q4_k_m");
  using K = QuantTensorKind;
  constexpr GgmlType Q4K = GgmlType::kQ4_K, Q6K = GgmlType::kQ6_K;
  for (int64_t n : {32, 4}) {
    for (int64_t i = 0; i < n; ++i) {
      const GgmlType more = quant_use_more_bits(i, n) ? Q6K : Q4K;
      EXPECT_EQ(quant_type_for(r, K::kAttnV, i, n, 4096, false), more) << n << " " << i;
      EXPECT_EQ(quant_type_for(r, K::kFfnDown, i, n, 11008, false), more) << n << " " << i;
      for (K kind : {K::kAttnQ, K::kAttnK, K::kAttnOut, K::kFfnGate, K::kFfnUp, K::kOther}) {
        EXPECT_EQ(quant_type_for(r, kind, i, n, 4096, false), Q4K) << n << " " << i;
      }
      EXPECT_EQ(quant_type_for(r, K::kAttnQkv, i, n, 4096, false), Q6K);
    }
    EXPECT_EQ(quant_type_for(r, K::kOutput, -1, n, 4096, false), Q6K);
    EXPECT_EQ(quant_type_for(r, K::kEmbedding, -1, n, 4096, false), Q4K);  // untied
    EXPECT_EQ(quant_type_for(r, K::kEmbedding, -1, n, 4096, true), Q6K);   // tied: it is the LM head
  }
  // 32 layers: layer 6 gets more bits, 7 does not.
  EXPECT_EQ(quant_type_for(r, K::kAttnV, 6, 32, 4096, false), Q6K);
  EXPECT_EQ(quant_type_for(r, K::kAttnV, 7, 32, 4096, false), Q4K);
}

TEST(QuantRecipe, RowLengthFallbacks) {
  using K = QuantTensorKind;
  const QuantRecipe m = parse_quant_recipe("q4_k_m");
  for (int64_t cols : {576, 384}) {  // multiples of 32, not of 256
    EXPECT_EQ(quant_type_for(m, K::kAttnQ, 1, 32, cols, false), GgmlType::kQ5_0) << cols;
    EXPECT_EQ(quant_type_for(m, K::kAttnV, 0, 32, cols, false), GgmlType::kQ8_0) << cols;
    EXPECT_EQ(quant_type_for(m, K::kAttnV, 7, 32, cols, false), GgmlType::kQ5_0) << cols;
    EXPECT_EQ(quant_type_for(m, K::kOutput, -1, 32, cols, false), GgmlType::kQ8_0) << cols;
    EXPECT_EQ(quant_type_for(m, K::kEmbedding, -1, 32, cols, true), GgmlType::kQ8_0) << cols;
    EXPECT_EQ(quant_type_for(parse_quant_recipe("q4_k"), K::kFfnUp, 0, 4, cols, false), GgmlType::kQ5_0);
    EXPECT_EQ(quant_type_for(parse_quant_recipe("q6_k"), K::kFfnUp, 0, 4, cols, false), GgmlType::kQ8_0);
    EXPECT_EQ(quant_type_for(parse_quant_recipe("q4_1"), K::kFfnUp, 0, 4, cols, false), GgmlType::kQ4_1);
  }
  // Not even 32-weight blocks: F16.
  EXPECT_EQ(quant_type_for(m, K::kAttnQ, 0, 4, 100, false), GgmlType::kF16);
  EXPECT_EQ(quant_type_for(parse_quant_recipe("q8_0"), K::kOutput, -1, 4, 100, false), GgmlType::kF16);
  // Single-type recipes give every kind the same type.
  const QuantRecipe q5 = parse_quant_recipe("q5_1");
  for (K kind : {K::kEmbedding, K::kOutput, K::kAttnV, K::kFfnDown, K::kAttnQkv}) {
    EXPECT_EQ(quant_type_for(q5, kind, 0, 4, 4096, true), GgmlType::kQ5_1);
  }
  expect_error([&] { quant_type_for(m, K::kAttnV, 4, 4, 4096, false); }, ErrorCode::kInvalidArgument,
               {"layer 4", "0..3"});
  expect_error([&] { quant_type_for(m, K::kAttnV, 0, 4, 0, false); }, ErrorCode::kInvalidArgument,
               {"row length 0"});
}

}  // namespace
}  // namespace vkinfer
