// The GGUF writer (engine/io/gguf_writer.h):
//  - byte-identical to gguf-py's GGUFWriter: every value and tensor of
//    tests/data/gguf/small.gguf and minimal.gguf (written by the `gguf`
//    package, tests/data/gguf/make_gguf_goldens.py), fed back through the
//    writer, gives the same file;
//  - the typed API: a file with every value type and several tensor types
//    (quantized by engine/weights/quantize.h) reads back through GgufFile
//    with the same keys, values, dims, types and bytes;
//  - errors: bad metadata and tensors are refused when added, I/O failures
//    name the path and leave an existing file as it was.
// tests/gguf_writer/test_gguf_writer_py.py also reads the FileForPython
// output with gguf.GGUFReader.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/gguf.h"
#include "engine/io/gguf_writer.h"
#include "engine/weights/block_formats.h"
#include "engine/weights/quantize.h"
#include "tests/support/expect_error.h"
#include "tests/support/gpu.h"
#include "tests/support/temp_dir.h"

namespace vkinfer {
namespace {

using testing::expect_error;
using testing::TempDir;
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string data_path(const std::string& name) { return testing::test_data_dir() + "/gguf/" + name; }

// Everything in `source`, in file order, through the writer.
void copy_through_writer(const GgufFile& source, const fs::path& out) {
  GgufWriter writer;
  for (const auto& [key, value] : source.metadata()) writer.add_value(key, value);
  for (const GgufTensor& t : source.tensors()) {
    writer.add_tensor(t.name, t.dims, t.type, std::vector<uint8_t>(t.data, t.data + t.byte_size));
  }
  writer.write(out);
}

TEST(GgufWriter, ByteIdenticalToGgufPackage) {
  TempDir dir;
  for (const char* name : {"small.gguf", "minimal.gguf"}) {
    auto source = GgufFile::open(data_path(name));
    copy_through_writer(*source, dir.path() / name);
    const std::string want = read_file(data_path(name));
    const std::string got = read_file(dir.path() / name);
    ASSERT_EQ(got.size(), want.size()) << name;
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << name << " byte " << i;
    EXPECT_FALSE(fs::exists(dir.path() / (std::string(name) + ".tmp")));
  }
}

std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * std::sin(0.37f * static_cast<float>(i) + 0.1f);
  return v;
}

struct TensorCase {
  std::string name;
  std::vector<int64_t> dims;  // GGUF order
  GgmlType type;
};

const std::vector<TensorCase>& tensor_cases() {
  static const std::vector<TensorCase> cases = {
      {"token_embd.weight", {5, 3}, GgmlType::kF32},
      {"blk.0.f16", {8, 2}, GgmlType::kF16},
      {"blk.0.bf16", {6, 4}, GgmlType::kBF16},
      {"blk.0.attn_q.weight", {64, 3}, GgmlType::kQ8_0},
      {"blk.0.q4_0", {32, 2}, GgmlType::kQ4_0},
      {"blk.0.q4_1", {64, 2}, GgmlType::kQ4_1},
      {"blk.0.q5_0", {32, 1}, GgmlType::kQ5_0},
      {"blk.0.q5_1", {32, 2}, GgmlType::kQ5_1},
      {"blk.0.ffn_up.weight", {256, 2}, GgmlType::kQ4_K},
      {"blk.0.ffn_down.weight", {512, 1}, GgmlType::kQ6_K},
      {"blk.0.cube", {32, 3, 2}, GgmlType::kQ8_0},
      {"output_norm.weight", {7}, GgmlType::kF32},
  };
  return cases;
}

int64_t elements(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// The typed-API file: every value type, the tensors above (values from
// ramp(), quantized here), alignment 64. Tensors with an odd index go in as
// views of `keep`.
void build_file(GgufWriter& w, std::vector<std::vector<uint8_t>>& keep) {
  w.add_string("general.architecture", "llama");
  w.set_alignment(64);
  w.add_u8("test.u8", 200);
  w.add_i8("test.i8", -100);
  w.add_u16("test.u16", 60000);
  w.add_i16("test.i16", -30000);
  w.add_u32("test.u32", 4000000000u);
  w.add_i32("test.i32", -2000000000);
  w.add_f32("test.f32", 0.1f);
  w.add_bool("test.bool", true);
  w.add_string("test.string", "h\xc3\xa9llo, \xe4\xb8\x96\xe7\x95\x8c");
  w.add_u64("test.u64", 18000000000000000000ull);
  w.add_i64("test.i64", -9000000000000000000ll);
  w.add_f64("test.f64", 2.718281828459045);
  w.add_array_strings("test.strings", {"a", "", "b\nc", "\xc3\xbc"});
  const std::vector<int64_t> ints = {1, -2, 3};
  w.add_array_ints("test.ints", ints);
  const std::vector<int64_t> bytes = {0, 255, 7};
  w.add_array_ints("test.bytes", bytes, GgufValueType::kU8);
  const std::vector<int64_t> big = {1, int64_t{1} << 40};
  w.add_array_ints("test.u64s", big, GgufValueType::kU64);
  const std::vector<float> floats = {0.5f, -1.25f, 1e-3f};
  w.add_array_floats("test.floats", floats);
  const std::vector<int64_t> empty;
  w.add_array_ints("test.empty", empty, GgufValueType::kI64);
  GgufValue nested;
  nested.type = GgufValueType::kArray;
  nested.element_type = GgufValueType::kArray;
  for (int n : {2, 1}) {
    GgufValue inner;
    inner.type = GgufValueType::kArray;
    inner.element_type = GgufValueType::kI32;
    for (int i = 0; i < n; ++i) {
      GgufValue v;
      v.type = GgufValueType::kI32;
      v.bits = static_cast<uint32_t>(i + n);
      inner.array.push_back(v);
    }
    nested.array.push_back(inner);
  }
  w.add_value("test.nested", nested);
  keep.clear();
  keep.reserve(tensor_cases().size());
  for (size_t i = 0; i < tensor_cases().size(); ++i) {
    const TensorCase& c = tensor_cases()[i];
    const int64_t cols = c.dims[0];
    const std::vector<float> values = ramp(static_cast<size_t>(elements(c.dims)), 0.5f);
    std::vector<uint8_t> data = quantize_rows(c.type, values, elements(c.dims) / cols, cols);
    if (i % 2 == 1) {
      keep.push_back(std::move(data));
      w.add_tensor_view(c.name, c.dims, c.type, keep.back());
    } else {
      w.add_tensor(c.name, c.dims, c.type, std::move(data));
    }
  }
}

TEST(GgufWriter, TypedApiReadsBack) {
  TempDir dir;
  GgufWriter w;
  std::vector<std::vector<uint8_t>> keep;
  build_file(w, keep);
  const fs::path path = dir.path() / "typed.gguf";
  w.write(path);
  auto file = GgufFile::open(path);
  EXPECT_EQ(file->version(), 3u);
  EXPECT_EQ(file->alignment(), 64u);
  EXPECT_EQ(file->data_offset() % 64, 0u);
  EXPECT_EQ(file->metadata().size(), w.metadata_count());
  EXPECT_EQ(file->metadata()[0].first, "general.architecture");
  EXPECT_EQ(file->get_string("general.architecture"), "llama");
  EXPECT_EQ(file->get_u32("general.alignment"), 64u);
  EXPECT_EQ(file->find_value("test.u8")->as_int64(), 200);
  EXPECT_EQ(file->find_value("test.i8")->as_int64(), -100);
  EXPECT_EQ(file->find_value("test.u16")->as_int64(), 60000);
  EXPECT_EQ(file->find_value("test.i16")->as_int64(), -30000);
  EXPECT_EQ(file->get_u32("test.u32"), 4000000000u);
  EXPECT_EQ(file->get_i32("test.i32"), -2000000000);
  EXPECT_EQ(file->get_f32("test.f32"), 0.1f);
  EXPECT_TRUE(file->get_bool("test.bool"));
  EXPECT_EQ(file->get_string("test.string"), "h\xc3\xa9llo, \xe4\xb8\x96\xe7\x95\x8c");
  EXPECT_EQ(file->get_u64("test.u64"), 18000000000000000000ull);
  EXPECT_EQ(file->find_value("test.i64")->as_int64(), -9000000000000000000ll);
  EXPECT_EQ(file->find_value("test.i64")->type, GgufValueType::kI64);
  EXPECT_EQ(file->find_value("test.f64")->as_double(), 2.718281828459045);
  EXPECT_EQ(file->get_strings("test.strings"), (std::vector<std::string>{"a", "", "b\nc", "\xc3\xbc"}));
  EXPECT_EQ(file->get_ints("test.ints"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(file->find_value("test.ints")->element_type, GgufValueType::kI32);
  EXPECT_EQ(file->get_ints("test.bytes"), (std::vector<int64_t>{0, 255, 7}));
  EXPECT_EQ(file->find_value("test.bytes")->element_type, GgufValueType::kU8);
  EXPECT_EQ(file->get_ints("test.u64s"), (std::vector<int64_t>{1, int64_t{1} << 40}));
  EXPECT_EQ(file->get_floats("test.floats"), (std::vector<float>{0.5f, -1.25f, 1e-3f}));
  EXPECT_TRUE(file->get_ints("test.empty").empty());
  const GgufValue& nested = *file->find_value("test.nested");
  ASSERT_EQ(nested.array.size(), 2u);
  EXPECT_EQ(nested.array[0].array.size(), 2u);
  EXPECT_EQ(nested.array[0].array[1].as_int64(), 3);
  EXPECT_EQ(nested.array[1].array[0].as_int64(), 1);

  ASSERT_EQ(file->tensors().size(), tensor_cases().size());
  for (size_t i = 0; i < tensor_cases().size(); ++i) {
    const TensorCase& c = tensor_cases()[i];
    const GgufTensor& t = file->tensors()[i];
    EXPECT_EQ(t.name, c.name);
    EXPECT_EQ(t.dims, c.dims) << c.name;
    EXPECT_EQ(t.type, c.type) << c.name;
    EXPECT_EQ(t.offset % 64, 0u) << c.name;
    const std::vector<float> values = ramp(static_cast<size_t>(elements(c.dims)), 0.5f);
    const std::vector<uint8_t> want = quantize_rows(c.type, values, elements(c.dims) / c.dims[0], c.dims[0]);
    ASSERT_EQ(t.byte_size, want.size()) << c.name;
    EXPECT_EQ(std::memcmp(t.data, want.data(), want.size()), 0) << c.name;
    // And the weights are what was meant, within the type's precision:
    // values in [-0.5, 0.5]; Q4_0's step is max / 8 = 0.0625, and the value
    // opposite the block's largest can clip by up to one step.
    const std::vector<float> back = dequantize(t.type, {t.data, t.byte_size}, t.elements());
    for (size_t j = 0; j < back.size(); ++j) ASSERT_NEAR(back[j], values[j], 0.07f) << c.name << " " << j;
  }
  // Written twice, the same bytes.
  w.write(dir.path() / "again.gguf");
  EXPECT_EQ(read_file(path), read_file(dir.path() / "again.gguf"));
}

TEST(GgufWriter, DefaultAlignment) {
  TempDir dir;
  GgufWriter w;
  w.add_tensor("x", {4, 2}, GgmlType::kF32, std::vector<uint8_t>(32, 0));
  w.add_tensor("y", {3}, GgmlType::kF16, std::vector<uint8_t>(6, 1));
  w.add_tensor("z", {32}, GgmlType::kQ8_0, quantize_rows(GgmlType::kQ8_0, ramp(32, 1.0f), 1, 32));
  EXPECT_EQ(w.alignment(), 32u);
  w.write(dir.path() / "a.gguf");
  auto file = GgufFile::open(dir.path() / "a.gguf");
  EXPECT_EQ(file->alignment(), 32u);
  EXPECT_FALSE(file->has("general.alignment"));
  ASSERT_EQ(file->tensors().size(), 3u);
  EXPECT_EQ(file->tensors()[1].offset, 32u);
  EXPECT_EQ(file->tensors()[2].offset, 64u);
  // Every tensor padded to the alignment, the last one too (as gguf-py).
  EXPECT_EQ(fs::file_size(dir.path() / "a.gguf"), file->data_offset() + 32 + 32 + 64);
}

TEST(GgufWriter, BadMetadataIsRefused) {
  GgufWriter w;
  w.add_u32("a.key", 1);
  expect_error([&] { w.add_string("a.key", "x"); }, ErrorCode::kInvalidArgument, {"'a.key'", "twice"});
  expect_error([&] { w.add_bool("", true); }, ErrorCode::kInvalidArgument, {"empty metadata key"});
  expect_error([&] { w.set_alignment(48); }, ErrorCode::kInvalidArgument, {"general.alignment", "48", "power of two"});
  expect_error([&] { w.add_u64("general.alignment", 64); }, ErrorCode::kInvalidArgument,
               {"general.alignment", "UINT32", "UINT64"});
  const std::vector<int64_t> values = {1, 300};
  expect_error([&] { w.add_array_ints("b", values, GgufValueType::kU8); }, ErrorCode::kInvalidArgument,
               {"'b'", "300", "UINT8"});
  const std::vector<int64_t> negative = {-1};
  expect_error([&] { w.add_array_ints("c", negative, GgufValueType::kU64); }, ErrorCode::kInvalidArgument,
               {"-1", "UINT64"});
  expect_error([&] { w.add_array_ints("d", values, GgufValueType::kString); }, ErrorCode::kInvalidArgument,
               {"STRING", "not an integer type"});
  GgufValue mixed;
  mixed.type = GgufValueType::kArray;
  mixed.element_type = GgufValueType::kI32;
  mixed.array.resize(1);  // a U8 element in an INT32 array
  expect_error([&] { w.add_value("e", mixed); }, ErrorCode::kInvalidArgument, {"'e'", "INT32", "UINT8"});
  GgufValue wide;
  wide.type = GgufValueType::kU16;
  wide.bits = 0x10000;
  expect_error([&] { w.add_value("f", wide); }, ErrorCode::kInvalidArgument, {"'f'", "UINT16"});
  GgufValue deep;
  deep.type = GgufValueType::kI32;
  for (int i = 0; i < 9; ++i) {
    GgufValue outer;
    outer.type = GgufValueType::kArray;
    outer.element_type = deep.type;
    outer.array.push_back(deep);
    deep = outer;
  }
  expect_error([&] { w.add_value("g", deep); }, ErrorCode::kInvalidArgument, {"'g'", "8 deep"});
  // Nothing refused was added.
  EXPECT_EQ(w.metadata_count(), 1u);
  EXPECT_EQ(w.alignment(), 32u);
}

TEST(GgufWriter, BadTensorsAreRefused) {
  GgufWriter w;
  w.add_tensor("t", {32}, GgmlType::kQ8_0, std::vector<uint8_t>(34));
  expect_error([&] { w.add_tensor("t", {32}, GgmlType::kQ8_0, std::vector<uint8_t>(34)); },
               ErrorCode::kInvalidArgument, {"'t'", "twice"});
  expect_error([&] { w.add_tensor("u", {64, 2}, GgmlType::kQ8_0, std::vector<uint8_t>(34 * 3)); },
               ErrorCode::kInvalidArgument, {"'u'", "128 Q8_0 weights", "needs 136 bytes, got 102"});
  expect_error([&] { w.add_tensor("v", {48, 2}, GgmlType::kQ4_0, std::vector<uint8_t>(54)); },
               ErrorCode::kInvalidArgument, {"'v'", "rows of 48", "32-weight Q4_0"});
  expect_error([&] { w.add_tensor("w", {}, GgmlType::kF32, {}); }, ErrorCode::kInvalidArgument, {"'w'", "0 dims"});
  expect_error([&] { w.add_tensor("x", {1, 1, 1, 1, 1}, GgmlType::kF32, std::vector<uint8_t>(4)); },
               ErrorCode::kInvalidArgument, {"'x'", "5 dims"});
  expect_error([&] { w.add_tensor("y", {4, 0}, GgmlType::kF32, {}); }, ErrorCode::kInvalidArgument,
               {"'y'", "dimension of 0"});
  expect_error([&] { w.add_tensor(std::string(64, 'n'), {1}, GgmlType::kF32, std::vector<uint8_t>(4)); },
               ErrorCode::kInvalidArgument, {"64 bytes", "at most 63"});
  expect_error([&] { w.add_tensor("", {1}, GgmlType::kF32, std::vector<uint8_t>(4)); },
               ErrorCode::kInvalidArgument, {"empty tensor name"});
  expect_error([&] { w.add_tensor("z", {256}, static_cast<GgmlType>(16), std::vector<uint8_t>(66)); },
               ErrorCode::kInvalidArgument, {"'z'", "IQ2_XXS"});
  EXPECT_EQ(w.tensor_count(), 1u);
}

TEST(GgufWriter, IoErrorsNameThePathAndKeepTheOldFile) {
  TempDir dir;
  GgufWriter w;
  w.add_string("k", "v");
  w.add_tensor("t", {1}, GgmlType::kF32, std::vector<uint8_t>(4));
  const fs::path missing = dir.path() / "no_such_dir" / "m.gguf";
  expect_error([&] { w.write(missing); }, ErrorCode::kBadFile, {missing.string(), "cannot create"});

  // The temp file cannot be created (a directory is in its way): the file
  // already under the real name stays as it was.
  const fs::path target = dir.path() / "model.gguf";
  dir.write("model.gguf", "old contents");
  fs::create_directory(dir.path() / "model.gguf.tmp");
  expect_error([&] { w.write(target); }, ErrorCode::kBadFile, {target.string()});
  EXPECT_EQ(read_file(target), "old contents");
  fs::remove(dir.path() / "model.gguf.tmp");

  // /dev/full accepts the open and fails the writes (Linux).
  if (fs::exists("/dev/full")) {
    std::vector<float> big(1 << 16, 1.0f);
    GgufWriter large;
    large.add_tensor_view("big", {1 << 16}, GgmlType::kF32,
                          {reinterpret_cast<const uint8_t*>(big.data()), big.size() * 4});
    // The writer appends ".tmp"; a symlink named so points at /dev/full.
    const fs::path full = dir.path() / "full.gguf";
    fs::create_symlink("/dev/full", dir.path() / "full.gguf.tmp");
    expect_error([&] { large.write(full); }, ErrorCode::kBadFile, {full.string(), "write failed"});
    EXPECT_FALSE(fs::exists(full));
  }
  w.write(target);  // and with the way clear, it is replaced
  EXPECT_EQ(GgufFile::open(target)->get_string("k"), "v");
}

// Writes the typed-API file to $VKINFER_GGUF_WRITER_OUT for
// tests/gguf_writer/test_gguf_writer_py.py to read with gguf.GGUFReader,
// with, for every tensor X, "X.src" (the fp32 values that went in) and
// "X.deq" (vkinfer's dequantization of X) as F32 tensors beside it.
TEST(GgufWriter, FileForPython) {
  const char* out = std::getenv("VKINFER_GGUF_WRITER_OUT");
  if (out == nullptr) GTEST_SKIP() << "VKINFER_GGUF_WRITER_OUT not set (the pytest sets it)";
  GgufWriter w;
  std::vector<std::vector<uint8_t>> keep;
  build_file(w, keep);
  for (const TensorCase& c : tensor_cases()) {
    const std::vector<float> values = ramp(static_cast<size_t>(elements(c.dims)), 0.5f);
    const std::vector<uint8_t> data = quantize_rows(c.type, values, elements(c.dims) / c.dims[0], c.dims[0]);
    const std::vector<float> back = dequantize(c.type, data, elements(c.dims));
    auto as_bytes = [](const std::vector<float>& v) {
      std::vector<uint8_t> b(v.size() * 4);
      std::memcpy(b.data(), v.data(), b.size());
      return b;
    };
    w.add_tensor(c.name + ".src", c.dims, GgmlType::kF32, as_bytes(values));
    w.add_tensor(c.name + ".deq", c.dims, GgmlType::kF32, as_bytes(back));
  }
  w.write(out);
}

}  // namespace
}  // namespace vkinfer
