// Tests for the safetensors reader, the Checkpoint folder loader and its
// slice reader, and the fp16/bf16 conversions they use. Files are built in
// the test from a header string and raw bytes, so every corruption is one
// edit away from a valid file and each error path is reached on purpose.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/half.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace vkinfer {
namespace {

using testing::expect_error;
using testing::TempDir;

namespace fs = std::filesystem;
using nlohmann::json;

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le_u64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

// [u64 header length][header][data], the safetensors layout.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return le_u64(header.size()) + header + data;
}

struct TensorSpec {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

// A valid file holding `tensors` back to back, as safetensors writes them.
std::string build_file(const std::vector<TensorSpec>& tensors, const json& metadata = nullptr) {
  json header = json::object();
  std::string data;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype},
                      {"shape", t.shape},
                      {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  if (!metadata.is_null()) header["__metadata__"] = metadata;
  return safetensors_bytes(header.dump(), data);
}

template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// ---------------------------------------------------------------- half.h

TEST(HalfTest, EveryF16RoundTripsThroughF32) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float f = f16_to_f32(h);
    const bool is_nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
    if (is_nan) {
      EXPECT_TRUE(std::isnan(f)) << std::hex << bits;
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f)))) << std::hex << bits;
    } else {
      EXPECT_EQ(f32_to_f16(f), h) << std::hex << bits;
    }
  }
}

TEST(HalfTest, KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);  // below the halfway point to 65536
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // halfway, ties to even = inf
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-INFINITY), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);          // tie to even (0)
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);          // 1.5 ulp -> 2 (even)
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25) * 1.0001f), 0x0001);  // just above the tie
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie to even mantissa
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie to even
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
  EXPECT_EQ(f32_to_bf16(3.4e38f), 0x7f80);  // rounds past the largest bf16 to inf
}

// Exact-rounding reference: pick the nearer of the two representable
// neighbours in double precision, ties to the even one.
template <typename Decode>
uint16_t nearest_even(float value, uint16_t down, Decode decode) {
  const uint16_t up = static_cast<uint16_t>(down + 1);
  const double d_down = std::fabs(static_cast<double>(decode(down)) - value);
  const double d_up = std::fabs(static_cast<double>(decode(up)) - value);
  if (d_down < d_up) return down;
  if (d_up < d_down) return up;
  return (down & 1) ? up : down;
}

TEST(HalfTest, RandomF32RoundsToNearestEven) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> magnitude(-26.0f, 16.5f);
  for (int i = 0; i < 200000; ++i) {
    const float value = std::ldexp(1.0f + (rng() % 100000) / 100000.0f, 0) *
                        std::exp2(magnitude(rng)) * ((rng() & 1) ? -1.0f : 1.0f);
    const uint16_t got = f32_to_f16(value);
    if (std::fabs(value) >= 65520.0f) {
      EXPECT_EQ(got & 0x7fff, 0x7c00) << value;
      continue;
    }
    // Truncating toward zero gives the lower-magnitude neighbour.
    uint16_t down = got;
    if (std::fabs(f16_to_f32(got)) > std::fabs(value)) down = static_cast<uint16_t>(got - 1);
    if ((down & 0x7fff) == 0x7bff) continue;  // neighbour above is inf; covered above
    ASSERT_EQ(got, nearest_even(value, down, f16_to_f32)) << value;

    const uint16_t bf = f32_to_bf16(value);
    uint16_t bf_down = bf;
    if (std::fabs(bf16_to_f32(bf)) > std::fabs(value)) bf_down = static_cast<uint16_t>(bf - 1);
    ASSERT_EQ(bf, nearest_even(value, bf_down, bf16_to_f32)) << value;
  }
}

// ------------------------------------------------------ SafetensorsFile

class SafetensorsFileTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& bytes) {
    const fs::path path = dir_.path() / "model.safetensors";
    write_bytes(path, bytes);
    return path;
  }
  // Opening a file with this header (and `data`) must fail with `code`, the
  // message naming the file and every needle.
  void expect_header_error(const std::string& header, const std::string& data, ErrorCode code,
                           std::vector<std::string> needles) {
    const fs::path path = write(safetensors_bytes(header, data));
    needles.push_back(path.string());
    expect_error([&] { SafetensorsFile::open(path); }, code, needles);
  }

  TempDir dir_;
};

TEST_F(SafetensorsFileTest, OpensValidFile) {
  const std::vector<float> weights = {1, 2, 3, 4, 5, 6};
  const std::vector<uint16_t> half = {0x3c00, 0xc000};
  const fs::path path = write(build_file(
      {{"w", "F32", {2, 3}, raw_bytes(weights)},
       {"h", "F16", {2}, raw_bytes(half)},
       {"empty", "BF16", {0, 4}, ""},
       {"scalar", "F32", {}, raw_bytes(std::vector<float>{7})}},
      json{{"format", "pt"}}));
  auto file = SafetensorsFile::open(path);
  ASSERT_EQ(file->tensors().size(), 4u);
  const TensorInfo* w = file->find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, DType::kF32);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w->byte_size, 24u);
  EXPECT_EQ(std::memcmp(w->data, weights.data(), 24), 0);
  EXPECT_EQ(file->find("h")->dtype, DType::kF16);
  EXPECT_EQ(file->find("empty")->byte_size, 0u);
  EXPECT_TRUE(file->find("scalar")->shape.empty());
  EXPECT_EQ(file->find("missing"), nullptr);
  EXPECT_EQ(file->metadata().at("format"), "pt");
}

TEST_F(SafetensorsFileTest, AcceptsHeaderPaddedWithSpaces) {
  // The reference writer pads the header with spaces to 8-byte alignment.
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  const fs::path path = write(safetensors_bytes(header + "   ", std::string(4, '\0')));
  EXPECT_NE(SafetensorsFile::open(path)->find("a"), nullptr);
}

TEST_F(SafetensorsFileTest, RecordsButDoesNotServeOtherDtypes) {
  const fs::path path = write(build_file({{"ids", "I64", {3}, std::string(24, '\0')},
                                          {"w", "F32", {1}, std::string(4, '\0')}}));
  auto file = SafetensorsFile::open(path);
  EXPECT_EQ(file->find("ids"), nullptr);
  EXPECT_EQ(file->unreadable().at("ids"), "I64");
  EXPECT_NE(file->find("w"), nullptr);
}

TEST_F(SafetensorsFileTest, RejectsTooShortFiles) {
  for (const std::string& bytes : {std::string(), std::string(5, '\0')}) {
    const fs::path path = write(bytes);
    expect_error([&] { SafetensorsFile::open(path); }, ErrorCode::kBadFile,
                 {path.string(), "too short"});
  }
}

TEST_F(SafetensorsFileTest, RejectsMissingFile) {
  const fs::path path = dir_.path() / "nope.safetensors";
  expect_error([&] { SafetensorsFile::open(path); }, ErrorCode::kBadFile,
               {path.string(), "cannot open"});
}

TEST_F(SafetensorsFileTest, RejectsHeaderLengthPastEnd) {
  const fs::path path = write(le_u64(1000) + "{}");
  expect_error([&] { SafetensorsFile::open(path); }, ErrorCode::kBadFile,
               {path.string(), "runs past the end"});
}

TEST_F(SafetensorsFileTest, RejectsHugeHeaderLength) {
  const fs::path path = write(le_u64(~0ull) + "{}");
  expect_error([&] { SafetensorsFile::open(path); }, ErrorCode::kBadFile,
               {path.string(), "100 MB"});
}

TEST_F(SafetensorsFileTest, RejectsMalformedJson) {
  expect_header_error(R"({"a": {"dtype": "F32",)", "", ErrorCode::kBadFile, {"not valid JSON"});
  expect_header_error("{\"a\xff\": 1}", "", ErrorCode::kBadFile, {"not valid JSON"});
}

TEST_F(SafetensorsFileTest, RejectsNonObjectHeader) {
  expect_header_error("[1, 2]", "", ErrorCode::kBadFile, {"array", "expected an object"});
}

TEST_F(SafetensorsFileTest, RejectsBadMetadata) {
  expect_header_error(R"({"__metadata__": [1]})", "", ErrorCode::kBadFile, {"__metadata__"});
  expect_header_error(R"({"__metadata__": {"format": 1}})", "", ErrorCode::kBadFile,
                      {"__metadata__", "\"format\"", "expected a string"});
}

TEST_F(SafetensorsFileTest, RejectsUnknownDtypeNamingTensor) {
  expect_header_error(R"({"layer.w": {"dtype": "Q4_K", "shape": [2], "data_offsets": [0, 2]}})",
                      "xx", ErrorCode::kUnsupported, {"\"layer.w\"", "\"Q4_K\""});
  expect_header_error(R"({"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})",
                      std::string(4, '\0'), ErrorCode::kBadFile, {"\"w\"", "dtype"});
}

TEST_F(SafetensorsFileTest, RejectsMalformedEntries) {
  expect_header_error(R"({"w": 5})", "", ErrorCode::kBadFile, {"\"w\"", "expected an object"});
  expect_header_error(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", std::string(4, '\0'),
                      ErrorCode::kBadFile, {"\"w\"", "\"shape\""});
  expect_header_error(R"({"w": {"dtype": "F32", "shape": 4, "data_offsets": [0, 4]}})",
                      std::string(4, '\0'), ErrorCode::kBadFile, {"\"w\"", "shape"});
}

TEST_F(SafetensorsFileTest, RejectsBadDataOffsets) {
  const std::string data(16, '\0');
  for (const char* offsets : {"[0]", "[0, 4, 8]", "\"0,4\"", "[-4, 0]", "[0.0, 4.0]",
                              "[0, \"4\"]", "{}"}) {
    SCOPED_TRACE(offsets);
    expect_header_error(
        std::string(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": )") + offsets + "}}",
        data, ErrorCode::kBadFile, {"\"w\"", "data_offsets"});
  }
  expect_header_error(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", data,
                      ErrorCode::kBadFile, {"\"w\"", "end before they begin"});
  expect_header_error(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}})", data,
                      ErrorCode::kBadFile, {"\"w\"", "past the data area"});
  expect_header_error(
      R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 18446744073709551615]}})", data,
      ErrorCode::kBadFile, {"\"w\"", "past the data area"});
}

TEST_F(SafetensorsFileTest, RejectsOverlappingTensors) {
  expect_header_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                      std::string(12, '\0'), ErrorCode::kBadFile, {"\"a\"", "\"b\"", "overlaps"});
}

TEST_F(SafetensorsFileTest, RejectsShapeThatDisagreesWithBytes) {
  expect_header_error(R"({"w": {"dtype": "F16", "shape": [3], "data_offsets": [0, 8]}})",
                      std::string(8, '\0'), ErrorCode::kBadFile, {"\"w\"", "needs 6 bytes"});
}

TEST_F(SafetensorsFileTest, RejectsBadShapes) {
  const std::string data(8, '\0');
  expect_header_error(R"({"w": {"dtype": "F32", "shape": [-2, -1], "data_offsets": [0, 8]}})",
                      data, ErrorCode::kBadFile, {"\"w\"", "negative"});
  expect_header_error(R"({"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}})", data,
                      ErrorCode::kBadFile, {"\"w\"", "non-integer"});
  // 2^32 * 2^32 overflows the element count; 2^62 * 4 bytes overflows the size.
  expect_header_error(
      R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})",
      data, ErrorCode::kBadFile, {"\"w\"", "64 bits"});
  expect_header_error(
      R"({"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 8]}})", data,
      ErrorCode::kBadFile, {"\"w\"", "overflows"});
}

TEST_F(SafetensorsFileTest, RejectsDuplicateTensorNames) {
  expect_header_error(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                          "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                      std::string(8, '\0'), ErrorCode::kBadFile, {"\"w\"", "twice"});
  expect_header_error(
      R"({"w": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}})",
      std::string(4, '\0'), ErrorCode::kBadFile, {"\"dtype\"", "twice"});
}

TEST_F(SafetensorsFileTest, KeepsMessagesOnOneLineForHostileNames) {
  expect_header_error("{\"evil\\nname\": {\"dtype\": \"Q\", \"shape\": [], \"data_offsets\": [0, 0]}}",
                      "", ErrorCode::kUnsupported, {"evil\\nname"});
}

// ------------------------------------------------------------ Checkpoint

// A [rows, cols] tensor whose element (r, c) is distinct and not exactly
// representable in every dtype, so conversions are exercised.
std::vector<float> pattern(int64_t rows, int64_t cols) {
  std::vector<float> values(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows * cols; ++i) values[i] = 0.37f * static_cast<float>(i) - 11.3f;
  return values;
}

// The bytes of `values` stored in `dtype`, and the f32 values those bytes
// decode to (what a correct reader must return).
struct Encoded {
  std::string bytes;
  std::vector<float> decoded;
};

Encoded encode(const std::vector<float>& values, const std::string& dtype) {
  Encoded out;
  if (dtype == "F32") {
    out.bytes = raw_bytes(values);
    out.decoded = values;
    return out;
  }
  std::vector<uint16_t> halves;
  for (float v : values) {
    const uint16_t h = dtype == "F16" ? f32_to_f16(v) : f32_to_bf16(v);
    halves.push_back(h);
    out.decoded.push_back(dtype == "F16" ? f16_to_f32(h) : bf16_to_f32(h));
  }
  out.bytes = raw_bytes(halves);
  return out;
}

class CheckpointReadTest : public ::testing::TestWithParam<const char*> {
 protected:
  static constexpr int64_t kRows = 7;
  static constexpr int64_t kCols = 13;

  void SetUp() override {
    matrix_ = encode(pattern(kRows, kCols), GetParam());
    vector_ = encode(pattern(1, 17), GetParam());
    // A 1-byte tensor first so the others start at odd, unaligned offsets.
    write_bytes(dir_.path() / "model.safetensors",
                build_file({{"pad", "U8", {1}, std::string(1, '\0')},
                            {"matrix", GetParam(), {kRows, kCols}, matrix_.bytes},
                            {"vector", GetParam(), {17}, vector_.bytes},
                            {"cube", GetParam(), {2, 3, 2}, encode(pattern(1, 12), GetParam()).bytes}}));
  }

  TempDir dir_;
  Encoded matrix_;
  Encoded vector_;
};

TEST_P(CheckpointReadTest, WindowsMatchTheFullTensor) {
  const Checkpoint checkpoint = Checkpoint::open(dir_.path());
  EXPECT_EQ(checkpoint.read_f32("matrix"), matrix_.decoded);
  EXPECT_EQ(checkpoint.info("matrix").dtype == DType::kF32, std::string(GetParam()) == "F32");

  struct Window {
    int64_t row_begin, row_count, col_begin, col_count, stride;
  };
  const Window windows[] = {
      {0, kRows, 0, kCols, kCols},  // everything
      {2, 3, 0, kCols, kCols},      // row slice (row-parallel shard)
      {0, kRows, 5, 4, 4},          // column slice (column-parallel shard)
      {3, 2, 7, 6, 9},              // interior window, padded destination rows
      {6, 1, 12, 1, 1},             // last element
      {4, 0, 2, 3, 3},              // empty
  };
  constexpr float kSentinel = -12345.0f;
  for (const Window& w : windows) {
    SCOPED_TRACE(::testing::Message() << "rows " << w.row_begin << "+" << w.row_count << " cols "
                                    << w.col_begin << "+" << w.col_count);
    std::vector<float> got(static_cast<size_t>(std::max<int64_t>(1, w.row_count) * w.stride),
                           kSentinel);
    checkpoint.read("matrix", DType::kF32, got.data(), w.row_begin, w.row_count, w.col_begin,
                    w.col_count, w.stride);
    std::vector<uint16_t> got16(got.size(), 0xdead);
    checkpoint.read("matrix", DType::kF16, got16.data(), w.row_begin, w.row_count, w.col_begin,
                    w.col_count, w.stride);
    for (int64_t r = 0; r < std::max<int64_t>(1, w.row_count); ++r) {
      for (int64_t c = 0; c < w.stride; ++c) {
        const size_t at = static_cast<size_t>(r * w.stride + c);
        if (r < w.row_count && c < w.col_count) {
          const float want =
              matrix_.decoded[static_cast<size_t>((w.row_begin + r) * kCols + w.col_begin + c)];
          EXPECT_EQ(got[at], want);  // conversions to f32 are exact
          EXPECT_EQ(got16[at], f32_to_f16(want));
        } else {
          EXPECT_EQ(got[at], kSentinel) << "wrote outside the window at " << at;
          EXPECT_EQ(got16[at], 0xdead) << "wrote outside the window at " << at;
        }
      }
    }
  }
}

TEST_P(CheckpointReadTest, OneDimensionalTensorIsOneRow) {
  const Checkpoint checkpoint = Checkpoint::open(dir_.path());
  std::vector<float> got(5);
  checkpoint.read("vector", DType::kF32, got.data(), 0, 1, 10, 5, 5);
  EXPECT_EQ(got, std::vector<float>(vector_.decoded.begin() + 10, vector_.decoded.begin() + 15));
  expect_error([&] { checkpoint.read("vector", DType::kF32, got.data(), 1, 1, 0, 5, 5); },
               ErrorCode::kInvalidArgument, {"\"vector\"", "[1, 17]"});
}

TEST_P(CheckpointReadTest, RejectsBadWindows) {
  const Checkpoint checkpoint = Checkpoint::open(dir_.path());
  std::vector<float> buffer(kRows * kCols);
  const std::string file = (dir_.path() / "model.safetensors").string();
  auto bad = [&](int64_t rb, int64_t rc, int64_t cb, int64_t cc, int64_t stride) {
    SCOPED_TRACE(::testing::Message() << rb << " " << rc << " " << cb << " " << cc);
    expect_error(
        [&] { checkpoint.read("matrix", DType::kF32, buffer.data(), rb, rc, cb, cc, stride); },
        ErrorCode::kInvalidArgument, {file, "\"matrix\""});
  };
  bad(-1, 1, 0, 1, 1);
  bad(0, kRows + 1, 0, 1, 1);
  bad(6, 2, 0, 1, 1);
  bad(0, 1, 13, 1, 1);
  bad(0, 1, 0, -1, 1);
  bad(INT64_MAX, 2, 0, 1, 1);
  bad(0, 1, 1, INT64_MAX, INT64_MAX);
  bad(0, 2, 0, 5, 4);  // stride narrower than the window
  expect_error([&] { checkpoint.read("matrix", DType::kBF16, buffer.data(), 0, 1, 0, 1, 1); },
               ErrorCode::kInvalidArgument, {"BF16"});
  expect_error([&] { checkpoint.read("cube", DType::kF32, buffer.data(), 0, 1, 0, 1, 1); },
               ErrorCode::kShapeMismatch, {"\"cube\"", "3-D"});
  EXPECT_EQ(checkpoint.read_f32("cube").size(), 12u);  // any rank reads whole
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CheckpointReadTest, ::testing::Values("F32", "F16", "BF16"));

TEST(CheckpointTest, IndexesNamesAndReportsMissingTensors) {
  TempDir dir;
  write_bytes(dir.path() / "model.safetensors",
              build_file({{"b", "F32", {1}, std::string(4, '\0')},
                          {"a", "F32", {1}, std::string(4, '\0')},
                          {"position_ids", "I64", {1, 2}, std::string(16, '\0')}}));
  Checkpoint opened = Checkpoint::open(dir.path());
  const Checkpoint checkpoint = std::move(opened);  // movable, views stay valid
  EXPECT_EQ(checkpoint.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(checkpoint.has("a"));
  EXPECT_FALSE(checkpoint.has("position_ids"));
  EXPECT_EQ(checkpoint.info("a").shape, std::vector<int64_t>{1});
  expect_error([&] { checkpoint.info("lm_head.weight"); }, ErrorCode::kMissingTensor,
               {"\"lm_head.weight\"", dir.path().string()});
  expect_error([&] { checkpoint.read_f32("position_ids"); }, ErrorCode::kUnsupported,
               {"\"position_ids\"", "I64"});
}

TEST(CheckpointTest, RefusesPickleWithConversionHint) {
  TempDir dir;
  write_bytes(dir.path() / "pytorch_model.bin", "PK\x03\x04 not really a zip");
  expect_error([&] { Checkpoint::open(dir.path()); }, ErrorCode::kUnsupported,
               {dir.path().string(), "python3 tools/convert_to_safetensors.py"});
}

TEST(CheckpointTest, RejectsEmptyAndMissingFolders) {
  TempDir dir;
  expect_error([&] { Checkpoint::open(dir.path()); }, ErrorCode::kBadFile,
               {dir.path().string(), "model.safetensors"});
  expect_error([&] { Checkpoint::open(dir.path() / "absent"); }, ErrorCode::kBadFile,
               {"absent", "not a directory"});
}

TEST(CheckpointTest, ReportsCorruptFileThroughTheFolder) {
  TempDir dir;
  write_bytes(dir.path() / "model.safetensors", "tiny");
  expect_error([&] { Checkpoint::open(dir.path()); }, ErrorCode::kBadFile,
               {(dir.path() / "model.safetensors").string()});
}

// Two shards as save_pretrained(max_shard_size=...) writes them.
class ShardedCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    first_ = pattern(3, 4);
    second_ = pattern(2, 5);
    write_bytes(dir_.path() / "model-00001-of-00002.safetensors",
                build_file({{"embed", "F32", {3, 4}, raw_bytes(first_)}}));
    write_bytes(dir_.path() / "model-00002-of-00002.safetensors",
                build_file({{"head", "BF16", {2, 5}, encode(second_, "BF16").bytes},
                            {"head.bias", "F32", {5}, raw_bytes(pattern(1, 5))}}));
  }
  void write_index(const json& weight_map) {
    write_bytes(dir_.path() / "model.safetensors.index.json",
                json{{"metadata", {{"total_size", 100}}}, {"weight_map", weight_map}}.dump());
  }
  json good_map() const {
    return {{"embed", "model-00001-of-00002.safetensors"},
            {"head", "model-00002-of-00002.safetensors"},
            {"head.bias", "model-00002-of-00002.safetensors"}};
  }
  std::string index_path() const { return (dir_.path() / "model.safetensors.index.json").string(); }

  TempDir dir_;
  std::vector<float> first_;
  std::vector<float> second_;
};

TEST_F(ShardedCheckpointTest, ReadsAcrossShards) {
  write_index(good_map());
  const Checkpoint checkpoint = Checkpoint::open(dir_.path());
  EXPECT_EQ(checkpoint.names(), (std::vector<std::string>{"embed", "head", "head.bias"}));
  EXPECT_EQ(checkpoint.read_f32("embed"), first_);
  std::vector<float> row(5);
  checkpoint.read("head", DType::kF32, row.data(), 1, 1, 0, 5, 5);
  const std::vector<float> head = encode(second_, "BF16").decoded;
  EXPECT_EQ(row, std::vector<float>(head.begin() + 5, head.end()));
}

TEST_F(ShardedCheckpointTest, RejectsIndexPointingAtMissingFile) {
  json map = good_map();
  map["head"] = "model-00003-of-00002.safetensors";
  write_index(map);
  expect_error([&] { Checkpoint::open(dir_.path()); }, ErrorCode::kBadFile,
               {index_path(), "\"head\"", "does not exist"});
}

TEST_F(ShardedCheckpointTest, RejectsIndexNamingAbsentTensor) {
  json map = good_map();
  map["head"] = "model-00001-of-00002.safetensors";
  write_index(map);
  expect_error([&] { Checkpoint::open(dir_.path()); }, ErrorCode::kBadFile,
               {index_path(), "\"head\"", "does not contain it"});
}

TEST_F(ShardedCheckpointTest, RejectsIndexLeavingTheFolder) {
  json map = good_map();
  map["embed"] = "../model-00001-of-00002.safetensors";
  write_index(map);
  expect_error([&] { Checkpoint::open(dir_.path()); }, ErrorCode::kBadFile,
               {index_path(), "not a file name"});
  map["embed"] = 7;
  write_index(map);
  expect_error([&] { Checkpoint::open(dir_.path()); }, ErrorCode::kBadFile,
               {index_path(), "\"embed\"", "expected a file name"});
}

TEST_F(ShardedCheckpointTest, RejectsMalformedIndex) {
  write_bytes(dir_.path() / "model.safetensors.index.json", "{\"weight_map\": ");
  expect_error([&] { Checkpoint::open(dir_.path()); }, ErrorCode::kBadFile,
               {index_path(), "not valid JSON"});
  write_bytes(dir_.path() / "model.safetensors.index.json", "{\"weight_map\": []}");
  expect_error([&] { Checkpoint::open(dir_.path()); }, ErrorCode::kBadFile,
               {index_path(), "weight_map"});
}

TEST_F(ShardedCheckpointTest, RejectsTensorInTwoShards) {
  write_bytes(dir_.path() / "model-00002-of-00002.safetensors",
              build_file({{"head", "F32", {1}, std::string(4, '\0')},
                          {"embed", "F32", {1}, std::string(4, '\0')}}));
  json map = good_map();
  map.erase("head.bias");
  write_index(map);
  expect_error([&] { Checkpoint::open(dir_.path()); }, ErrorCode::kBadFile,
               {"\"embed\"", "shards must not repeat"});
}

}  // namespace
}  // namespace vkinfer
