// Tests for the .npy reader/writer: fixtures written by numpy
// (tests/data/npy/make_npy.py) must read back to the values the script
// computed, our writer's output must read back exactly, and malformed files
// must fail with kBadFile/kUnsupported naming the file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/npy.h"
#include "tests/support/expect_error.h"
#include "tests/support/temp_dir.h"

namespace vkinfer {
namespace {

using testing::expect_error;
using testing::TempDir;

namespace fs = std::filesystem;

fs::path npy_data() {
  if (const char* dir = std::getenv("VKINFER_TEST_DATA")) return fs::path(dir) / "npy";
#ifdef VKINFER_SOURCE_DIR
  return fs::path(VKINFER_SOURCE_DIR) / "tests" / "data" / "npy";
#else
  return {};
#endif
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
}

// The values make_npy.py stores in f32_2x3.npy: arange(6) * 0.25 - 1, all
// exact in f32.
const std::vector<float> kF32Values = {-1.0f, -0.75f, -0.5f, -0.25f, 0.0f, 0.25f};

TEST(NpyTest, ReadsNumpyFloat32) {
  ASSERT_TRUE(fs::is_directory(npy_data())) << npy_data();
  const NpyArray array = read_npy(npy_data() / "f32_2x3.npy");
  EXPECT_EQ(array.dtype, NpyDType::kF32);
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(array.data, kF32Values);
  EXPECT_TRUE(array.int_data.empty());
}

TEST(NpyTest, ReadsNumpyIntegersExactly) {
  const NpyArray i64 = read_npy(npy_data() / "i64_4.npy");
  EXPECT_EQ(i64.dtype, NpyDType::kI64);
  EXPECT_EQ(i64.shape, std::vector<int64_t>{4});
  EXPECT_EQ(i64.int_data, (std::vector<int64_t>{0, -7, 50256, int64_t{1} << 40}));
  EXPECT_EQ(i64.data[2], 50256.0f);
  const NpyArray i32 = read_npy(npy_data() / "i32_2x2.npy");
  EXPECT_EQ(i32.dtype, NpyDType::kI32);
  EXPECT_EQ(i32.int_data, (std::vector<int64_t>{1, -2, 3, 2147483647}));
}

TEST(NpyTest, ReadsScalarsEmptyArraysAndVersion2) {
  const NpyArray scalar = read_npy(npy_data() / "f32_scalar.npy");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.data, std::vector<float>{3.5f});
  const NpyArray empty = read_npy(npy_data() / "f32_empty_0x5.npy");
  EXPECT_EQ(empty.shape, (std::vector<int64_t>{0, 5}));
  EXPECT_TRUE(empty.data.empty());
  const NpyArray v2 = read_npy(npy_data() / "f32_v2_3.npy");
  EXPECT_EQ(v2.data, (std::vector<float>{1.5f, -2.0f, 1e-30f}));
}

TEST(NpyTest, RejectsLayoutsAndDtypesWeDoNotRead) {
  for (const char* name : {"f32_fortran.npy", "f32_bigendian.npy", "f64_2x3.npy"}) {
    SCOPED_TRACE(name);
    const fs::path path = npy_data() / name;
    expect_error([&] { read_npy(path); }, ErrorCode::kUnsupported, {path.string()});
  }
}

TEST(NpyTest, WriterRoundTripsAndMatchesNumpyLayout) {
  TempDir dir;
  const fs::path path = dir.path() / "out.npy";
  write_npy_f32(path, {2, 3}, kF32Values.data());
  const NpyArray back = read_npy(path);
  EXPECT_EQ(back.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(back.data, kF32Values);
  // np.save writes the same bytes for the same array, so ours is byte-equal.
  EXPECT_EQ(read_bytes(path), read_bytes(npy_data() / "f32_2x3.npy"));

  const std::vector<float> odd = {1.0f, -0.0f, 3e38f, 1e-45f, 7.0f};
  for (const std::vector<int64_t>& shape :
       {std::vector<int64_t>{5}, std::vector<int64_t>{5, 1, 1}, std::vector<int64_t>{0, 7}}) {
    write_npy_f32(path, shape, odd.data());
    const NpyArray got = read_npy(path);
    EXPECT_EQ(got.shape, shape);
    const size_t count = shape[0] == 0 ? 0 : 5;
    ASSERT_EQ(got.data.size(), count);
    if (count > 0) {
      EXPECT_EQ(std::memcmp(got.data.data(), odd.data(), count * 4), 0);  // bit-exact
    }
    EXPECT_EQ((read_bytes(path).size() - count * 4) % 64, 0u);  // data starts 64-aligned
  }
  expect_error([&] { write_npy_f32(path, {-1}, odd.data()); }, ErrorCode::kInvalidArgument,
               {path.string()});
}

TEST(NpyTest, RejectsCorruptFiles) {
  TempDir dir;
  const std::string good = read_bytes(npy_data() / "f32_2x3.npy");
  const fs::path path = dir.path() / "bad.npy";
  auto bad = [&](const std::string& bytes, const std::string& needle) {
    SCOPED_TRACE(needle);
    write_bytes(path, bytes);
    expect_error([&] { read_npy(path); }, ErrorCode::kBadFile, {path.string(), needle});
  };
  bad("", "magic");
  bad("PK\x03\x04 a zip file", "magic");
  bad(good.substr(0, good.size() - 4), "file holds 20");   // truncated data
  bad(good + "xxxx", "file holds 28");                     // trailing bytes
  std::string long_header = good;
  long_header[8] = '\xff';
  long_header[9] = '\x7f';
  bad(long_header, "runs past");
  auto with_header = [&](std::string dict) {
    std::string header = good.substr(0, 8);
    dict += '\n';
    header += static_cast<char>(dict.size() & 0xff);
    header += static_cast<char>(dict.size() >> 8);
    return header + dict + good.substr(good.size() - 24);
  };
  // The valid header rebuilt by with_header reads, so the cases below fail
  // only because of their one edit.
  write_bytes(path, with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
  EXPECT_EQ(read_npy(path).data, kF32Values);
  bad(with_header("{'descr': '<f4', 'shape': (2, 3), }"), "lacks");
  bad(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"), "non-integer");
  bad(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, }"), "shape");
  bad(with_header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }"),
      "unexpected value");
  bad(with_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,), }"),
      "repeats");
  bad(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
      "overflows");
  bad(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"),
      "overflows");
}

}  // namespace
}  // namespace vkinfer
