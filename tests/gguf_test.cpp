// Tests for the GGUF reader. tests/data/gguf/small.gguf was written by the
// `gguf` package's GGUFWriter and small.json says what it must read back as
// (both from tests/data/gguf/make_gguf_goldens.py). The bad-file matrix
// corrupts a copy of small.gguf at test time, one field at a time, locating
// the fields with a small trusting walker written here, so every error path
// is reached on purpose and each corruption is one edit from a valid file.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/gguf.h"
#include "engine/weights/block_formats.h"
#include "tests/support/expect_error.h"
#include "tests/support/golden.h"
#include "tests/support/gpu.h"
#include "tests/support/temp_dir.h"

namespace vkinfer {
namespace {

using nlohmann::json;
using testing::expect_error;
using testing::TempDir;
namespace fs = std::filesystem;

std::string data_path(const std::string& name) { return testing::test_data_dir() + "/gguf/" + name; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string from_hex(const std::string& hex) {
  std::string bytes(hex.size() / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return bytes;
}

// ---------------------------------------------------------------------------
// Reading the package-written file back.

void expect_value(const GgufValue& value, const std::string& type, const json& expected,
                  const std::string& key) {
  ASSERT_EQ(gguf_value_type_name(value.type), type) << key;
  if (type == "STRING") {
    EXPECT_EQ(value.string, expected.get<std::string>()) << key;
  } else if (type == "ARRAY") {
    const std::string element = expected.at("element_type");
    EXPECT_EQ(gguf_value_type_name(value.element_type), element) << key;
    const json& values = expected.at("values");
    ASSERT_EQ(value.array.size(), values.size()) << key;
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string inner = element == "ARRAY" ? "ARRAY" : element;
      expect_value(value.array[i], inner, values[i], key + "[" + std::to_string(i) + "]");
    }
  } else if (type == "BOOL") {
    EXPECT_EQ(value.bits != 0, expected.get<bool>()) << key;
  } else if (type == "FLOAT32" || type == "FLOAT64") {
    // Python wrote the fp32 value as the exact double it widens to.
    EXPECT_EQ(value.as_double(), expected.get<double>()) << key;
  } else if (type == "UINT64") {
    EXPECT_EQ(value.bits, expected.get<uint64_t>()) << key;
  } else {
    EXPECT_EQ(value.as_int64(), expected.get<int64_t>()) << key;
  }
}

TEST(Gguf, ReadsWhatTheGgufPackageWrote) {
  const json golden = testing::load_json_file(data_path("small.json"));
  auto file = GgufFile::open(data_path("small.gguf"));
  EXPECT_EQ(file->version(), golden.at("version").get<uint32_t>());
  EXPECT_EQ(file->alignment(), 64u);
  EXPECT_EQ(file->data_offset() % 64, 0u);

  const json& metadata = golden.at("metadata");
  ASSERT_EQ(file->metadata().size(), metadata.size());
  for (size_t i = 0; i < metadata.size(); ++i) {
    const auto& [key, value] = file->metadata()[i];
    EXPECT_EQ(key, metadata[i].at("key").get<std::string>());
    expect_value(value, metadata[i].at("type"), metadata[i].at("value"), key);
    EXPECT_EQ(file->find_value(key), &value);
  }

  const std::string bytes = read_file(data_path("small.gguf"));
  const json& tensors = golden.at("tensors");
  ASSERT_EQ(file->tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const GgufTensor& tensor = file->tensors()[i];
    const json& expected = tensors[i];
    const std::string name = expected.at("name");
    EXPECT_EQ(tensor.name, name);
    EXPECT_EQ(file->find(name), &tensor);
    EXPECT_EQ(std::string(tensor.format->name), expected.at("type").get<std::string>()) << name;
    EXPECT_EQ(tensor.dims, expected.at("dims").get<std::vector<int64_t>>()) << name;
    std::vector<int64_t> shape = expected.at("dims").get<std::vector<int64_t>>();
    std::reverse(shape.begin(), shape.end());
    EXPECT_EQ(tensor.shape(), shape) << name;
    EXPECT_EQ(tensor.cols(), tensor.dims[0]) << name;
    EXPECT_EQ(tensor.rows() * tensor.cols(), tensor.elements()) << name;
    EXPECT_EQ(tensor.offset % 64, 0u) << name;
    const std::string want = from_hex(expected.at("bytes"));
    ASSERT_EQ(tensor.byte_size, want.size()) << name;
    EXPECT_EQ(std::memcmp(tensor.data, want.data(), want.size()), 0) << name;
    // data points at its own bytes in the file (checked against a plain read).
    EXPECT_EQ(bytes.compare(file->data_offset() + tensor.offset, want.size(), want), 0) << name;

    // The whole tensor dequantizes to what gguf.quants.dequantize gave. Same
    // operations in the same order: equal to one fp32 rounding of the
    // largest value (see block_formats_test.cpp for why that much).
    const std::string values = from_hex(expected.at("values"));
    std::vector<float> want_values(values.size() / 4);
    std::memcpy(want_values.data(), values.data(), values.size());
    ASSERT_EQ(static_cast<int64_t>(want_values.size()), tensor.elements()) << name;
    const std::vector<float> got = dequantize(tensor.type, {tensor.data, tensor.byte_size}, tensor.elements());
    float largest = 0.0f;
    for (float v : want_values) largest = std::max(largest, std::fabs(v));
    for (size_t j = 0; j < got.size(); ++j) {
      ASSERT_LE(std::fabs(got[j] - want_values[j]), largest * 0x1p-23f) << name << " element " << j;
    }
  }
}

TEST(Gguf, TypedGetters) {
  auto file = GgufFile::open(data_path("small.gguf"));
  EXPECT_EQ(file->get_string("general.architecture"), "llama");
  EXPECT_EQ(file->get_string("test.string"), "h\xc3\xa9llo, \xe4\xb8\x96\xe7\x95\x8c");
  EXPECT_EQ(file->get_u32("test.u32"), 4000000000u);
  EXPECT_EQ(file->get_i32("test.i32"), -2000000000);
  EXPECT_EQ(file->get_u64("test.u64"), 18000000000000000000ull);
  EXPECT_EQ(file->get_f32("test.f32"), 0.1f);
  EXPECT_TRUE(file->get_bool("test.bool"));
  EXPECT_EQ(file->get_u32("general.alignment"), 64u);
  EXPECT_EQ(file->get_strings("test.strings"), (std::vector<std::string>{"a", "", "b\nc", "\xc3\xbc"}));
  EXPECT_EQ(file->get_ints("test.ints"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(file->get_ints("test.bytes"), (std::vector<int64_t>{0, 255, 7}));
  EXPECT_EQ(file->get_ints("test.u64s"), (std::vector<int64_t>{1, int64_t{1} << 40}));
  EXPECT_EQ(file->get_floats("test.floats"), (std::vector<float>{0.5f, -1.25f, 1e-3f}));
  EXPECT_TRUE(file->has("test.nested"));
  EXPECT_FALSE(file->has("test.absent"));

  const std::string path = data_path("small.gguf");
  expect_error([&] { file->get_string("test.u32"); }, ErrorCode::kBadFile, {path, "'test.u32'", "UINT32", "expected STRING"});
  expect_error([&] { file->get_u32("test.u16"); }, ErrorCode::kBadFile, {"'test.u16'", "UINT16", "expected UINT32"});
  expect_error([&] { file->get_u32("test.absent"); }, ErrorCode::kBadFile, {path, "no metadata key 'test.absent'"});
  expect_error([&] { file->get_strings("test.ints"); }, ErrorCode::kBadFile, {"'test.ints'", "array of INT32", "STRING"});
  expect_error([&] { file->get_ints("test.floats"); }, ErrorCode::kBadFile, {"array of FLOAT32", "integers"});
  expect_error([&] { file->get_floats("test.strings"); }, ErrorCode::kBadFile, {"array of STRING", "FLOAT32"});
  expect_error([&] { file->get_ints("test.u32"); }, ErrorCode::kBadFile, {"UINT32", "expected ARRAY"});
  expect_error([&] { file->get_ints("test.nested"); }, ErrorCode::kBadFile, {"array of ARRAY"});
}

TEST(Gguf, MinimalFileUsesTheDefaultAlignment) {
  auto file = GgufFile::open(data_path("minimal.gguf"));
  EXPECT_EQ(file->alignment(), 32u);
  EXPECT_EQ(file->data_offset() % 32, 0u);
  ASSERT_EQ(file->tensors().size(), 1u);
  const GgufTensor& x = file->tensors()[0];
  EXPECT_EQ(x.shape(), (std::vector<int64_t>{2, 4}));
  const std::vector<float> values = dequantize(x.type, {x.data, x.byte_size}, x.elements());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(values[i], static_cast<float>(i));
}

// ---------------------------------------------------------------------------
// The bad-file matrix.

// Where each field of a valid file sits; found by walking it trustingly.
struct TensorFields {
  size_t name_at, n_dims_at, dims_at, type_at, offset_at;
};
struct Layout {
  std::map<std::string, size_t> key_at;    // the key's u64 length
  std::map<std::string, size_t> value_at;  // the value (after its u32 type)
  std::vector<TensorFields> tensors;
};

struct Walker {
  const std::string& bytes;
  size_t pos = 0;
  uint64_t u(int width) {
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(bytes[pos + i]);
    pos += width;
    return v;
  }
  void skip_value(uint32_t type) {
    static const int kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      pos += u(8);
    } else if (type == 9) {
      const auto element = static_cast<uint32_t>(u(4));
      const uint64_t count = u(8);
      for (uint64_t i = 0; i < count; ++i) skip_value(element);
    } else {
      pos += kSizes[type];
    }
  }
};

Layout walk(const std::string& bytes) {
  Layout layout;
  Walker w{bytes, 8};
  const uint64_t tensors = w.u(8);
  const uint64_t kvs = w.u(8);
  for (uint64_t i = 0; i < kvs; ++i) {
    const size_t key_at = w.pos;
    const uint64_t key_length = w.u(8);
    const std::string key = bytes.substr(w.pos, key_length);
    w.pos += key_length;
    const auto type = static_cast<uint32_t>(w.u(4));
    layout.key_at[key] = key_at;
    layout.value_at[key] = w.pos;
    w.skip_value(type);
  }
  for (uint64_t i = 0; i < tensors; ++i) {
    TensorFields t{};
    t.name_at = w.pos;
    w.pos += w.u(8);
    t.n_dims_at = w.pos;
    const uint64_t n_dims = w.u(4);
    t.dims_at = w.pos;
    w.pos += 8 * n_dims;
    t.type_at = w.pos;
    w.pos += 4;
    t.offset_at = w.pos;
    w.pos += 8;
    layout.tensors.push_back(t);
  }
  return layout;
}

void put(std::string& bytes, size_t at, uint64_t value, int width) {
  for (int i = 0; i < width; ++i) bytes[at + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}
uint64_t get(const std::string& bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(bytes[at + i]);
  return v;
}

class GgufBadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    valid_ = read_file(data_path("small.gguf"));
    layout_ = walk(valid_);
    ASSERT_EQ(layout_.tensors.size(), 13u);
    path_ = (dir_.path() / "bad.gguf").string();
  }
  // Writes `bytes` and expects open() to fail with `code` and the needles
  // (the file's path is always one).
  void expect_bad(const std::string& bytes, std::vector<std::string> needles,
                  ErrorCode code = ErrorCode::kBadFile) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    needles.push_back(path_);
    const auto start = std::chrono::steady_clock::now();
    expect_error([&] { GgufFile::open(path_); }, code, needles);
    // "Fail fast": nothing is allocated or scanned for a lying count.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  }
  std::string edited(size_t at, uint64_t value, int width) const {
    std::string bytes = valid_;
    put(bytes, at, value, width);
    return bytes;
  }

  TempDir dir_;
  std::string valid_;
  Layout layout_;
  std::string path_;
};

TEST_F(GgufBadFile, TheValidCopyOpens) {
  std::ofstream(path_, std::ios::binary).write(valid_.data(), static_cast<std::streamsize>(valid_.size()));
  EXPECT_EQ(GgufFile::open(path_)->tensors().size(), 13u);
  // Version 2 has the same layout; it reads too.
  const std::string v2 = edited(4, 2, 4);
  std::ofstream(path_, std::ios::binary | std::ios::trunc).write(v2.data(), static_cast<std::streamsize>(v2.size()));
  EXPECT_EQ(GgufFile::open(path_)->version(), 2u);
}

TEST_F(GgufBadFile, TruncatedAnywhere) {
  // Every cut up to the last tensor's end fails cleanly; the last tensor
  // ends before the file's final alignment padding, so cuts in that padding
  // still leave a valid file.
  auto file = GgufFile::open(data_path("small.gguf"));
  uint64_t needed = 0;
  for (const GgufTensor& t : file->tensors()) needed = std::max<uint64_t>(needed, file->data_offset() + t.offset + t.byte_size);
  ASSERT_LE(needed, valid_.size());
  for (size_t cut = 0; cut < needed; ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_bad(valid_.substr(0, cut), {});
  }
  expect_bad(valid_.substr(0, 10), {"too short"});
  expect_bad(valid_.substr(0, layout_.tensors.back().dims_at + 3), {"truncated: tensor dimension needs 8 bytes"});
  expect_bad(valid_.substr(0, needed - 1), {"runs past the end", "truncated"});
}

TEST_F(GgufBadFile, MagicAndVersion) {
  expect_bad(edited(0, 'X', 1), {"not a GGUF file"});
  expect_bad(edited(4, 1, 4), {"version 1", "2 and 3"});
  expect_bad(edited(4, 4, 4), {"version 4"});
  expect_bad(edited(4, 0x03000000, 4), {"big-endian"});
}

TEST_F(GgufBadFile, LyingCounts) {
  expect_bad(edited(8, uint64_t{1} << 60, 8), {"claims 1152921504606846976 tensors"});
  expect_bad(edited(16, ~uint64_t{0}, 8), {"metadata entries"});
  // One more entry than there is: the reader runs into the tensor infos and
  // must fail on what it finds there, whatever it is.
  expect_bad(edited(16, get(valid_, 16, 8) + 1, 8), {});
  expect_bad(edited(layout_.key_at.at("test.u8"), uint64_t{1} << 62, 8), {"metadata key 2 claims 4611686018427387904 bytes"});
  expect_bad(edited(layout_.value_at.at("test.string"), 1000000, 8), {"'test.string'", "claims 1000000 bytes"});
  // An array's count: the u64 after its u32 element type.
  expect_bad(edited(layout_.value_at.at("test.strings") + 4, uint64_t{1} << 61, 8),
             {"'test.strings'", "claims 2305843009213693952 STRING elements"});
  expect_bad(edited(layout_.value_at.at("test.bytes") + 4, 100000, 8), {"'test.bytes'", "claims 100000 UINT8 elements"});
  expect_bad(edited(layout_.tensors[0].name_at, 5000, 8), {"tensor 0 name", "claims 5000 bytes"});
}

TEST_F(GgufBadFile, BadValues) {
  // The u32 value type sits just before the value.
  expect_bad(edited(layout_.value_at.at("test.u8") - 4, 13, 4), {"'test.u8'", "value type 13", "not a GGUF type"});
  expect_bad(edited(layout_.value_at.at("test.strings"), 99, 4), {"'test.strings'", "value type 99"});
  expect_bad(edited(layout_.value_at.at("test.bool"), 2, 1), {"'test.bool'", "expected 0 or 1"});
  expect_bad(edited(layout_.value_at.at("general.alignment"), 48, 4), {"general.alignment 48", "power of two"});
  expect_bad(edited(layout_.value_at.at("general.alignment"), 0, 4), {"general.alignment 0"});
  expect_bad(edited(layout_.value_at.at("general.alignment") - 4, 5, 4), {"general.alignment is INT32", "UINT32"});
  // test.u8 and test.i8 have keys of one length: make the second a copy.
  std::string duplicate = valid_;
  duplicate.replace(layout_.key_at.at("test.i8") + 8, 7, "test.u8");
  expect_bad(duplicate, {"metadata key 'test.u8' appears twice"});
}

TEST_F(GgufBadFile, BadTensorInfos) {
  const TensorFields& q8 = layout_.tensors[3];  // blk.0.q8_0, dims [64, 3]
  ASSERT_EQ(valid_.substr(q8.name_at + 8, 10), "blk.0.q8_0");
  expect_bad(edited(q8.type_at, 9999, 4), {"'blk.0.q8_0'", "type 9999", "not a ggml type"});
  expect_bad(edited(q8.type_at, 16, 4), {"tensor 'blk.0.q8_0' has type IQ2_XXS (16), which vkinfer does not read"},
             ErrorCode::kUnsupported);
  expect_bad(edited(q8.dims_at, 48, 8), {"'blk.0.q8_0'", "rows of 48 Q8_0 weights are not whole 32-weight blocks"});
  expect_bad(edited(q8.dims_at, 0, 8), {"'blk.0.q8_0'", "dimension 0 is 0"});
  expect_bad(edited(q8.dims_at + 8, uint64_t{1} << 62, 8), {"'blk.0.q8_0'", "past 64 bits"});
  expect_bad(edited(q8.n_dims_at, 5, 4), {"'blk.0.q8_0' has 5 dimensions"});
  expect_bad(edited(q8.n_dims_at, 0, 4), {"has 0 dimensions"});
  // More rows than its bytes: it runs into the next tensor.
  expect_bad(edited(q8.dims_at + 8, 4, 8), {"overlaps"});
  const uint64_t offset = get(valid_, q8.offset_at, 8);
  expect_bad(edited(q8.offset_at, offset + 1, 8), {"'blk.0.q8_0'", "not a multiple of the alignment 64"});
  expect_bad(edited(q8.offset_at, uint64_t{1} << 40, 8), {"'blk.0.q8_0'", "runs past the end"});
  expect_bad(edited(q8.offset_at, ~uint64_t{0} - 63, 8), {"runs past the end"});
  expect_bad(edited(q8.offset_at, get(valid_, layout_.tensors[2].offset_at, 8), 8), {"overlaps"});
  // The last tensor grown past the data section.
  const TensorFields& last = layout_.tensors.back();  // output_norm.weight, F32 [7]
  expect_bad(edited(last.dims_at, 7000, 8), {"'output_norm.weight'", "runs past the end"});
  // blk.0.q4_0 and blk.0.q4_1: equal-length names.
  std::string duplicate = valid_;
  duplicate.replace(layout_.tensors[5].name_at + 8, 10, "blk.0.q4_0");
  expect_bad(duplicate, {"tensor 'blk.0.q4_0' appears twice"});
}

// Files built byte by byte, for what a GGUFWriter file cannot be edited into.
std::string header(uint64_t tensors, uint64_t kvs) {
  std::string out = "GGUF";
  std::string word(4, '\0');
  put(word, 0, 3, 4);
  out += word;
  std::string count(8, '\0');
  put(count, 0, tensors, 8);
  out += count;
  put(count, 0, kvs, 8);
  return out + count;
}
std::string u32(uint32_t v) { std::string s(4, '\0'); put(s, 0, v, 4); return s; }
std::string u64(uint64_t v) { std::string s(8, '\0'); put(s, 0, v, 8); return s; }
std::string str(const std::string& s) { return u64(s.size()) + s; }

TEST_F(GgufBadFile, HandBuilt) {
  // Arrays of arrays 100 deep: refused before the parser recurses far.
  std::string deep = header(0, 1) + str("deep") + u32(9);
  for (int i = 0; i < 100; ++i) deep += u32(9) + u64(1);
  deep += u32(0) + u64(1) + std::string(1, '\0');
  expect_bad(deep, {"'deep'", "nests arrays more than 8 deep"});
  // Key names with control characters stay on one line in the message.
  expect_bad(header(0, 1) + str("bad\nkey") + u32(77) + std::string(16, '\0'), {"'bad\\x0akey'"});
  // A million-element array of arrays claimed in a tiny file.
  expect_bad(header(0, 1) + str("a") + u32(9) + u32(9) + u64(1000000) + std::string(40, '\0'),
             {"claims 1000000 ARRAY elements"});
  // No tensors and nothing after the infos is a valid (empty) file.
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << header(0, 0);
  auto empty = GgufFile::open(path_);
  EXPECT_TRUE(empty->tensors().empty());
  EXPECT_TRUE(empty->metadata().empty());
}

}  // namespace
}  // namespace vkinfer
