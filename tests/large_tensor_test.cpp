// Tensors over the device's maxStorageBufferRange (128 MiB on lavapipe): a
// GPT-2-sized [50304 x 768] fp32 table (154 MB) is split into row chunks,
// and both the embedding gather and the GEMV must read every chunk right.
// The host values come from a hash of (row, col), so no host copy of the
// table is kept.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "engine/ops/embedding.h"
#include "engine/ops/matmul.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

constexpr int64_t kRows = 50304, kCols = 768;

// Multiples of 1/1024 in [-0.5, 0.5): exact in fp32, cheap to regenerate.
float table_value(int64_t row, int64_t col) {
  uint32_t h = uint32_t(row) * 2654435761u ^ uint32_t(col) * 40503u;
  h ^= h >> 15;
  h *= 2246822519u;
  h ^= h >> 13;
  return float(int32_t(h & 1023u) - 512) / 1024.0f;
}

Weight make_big_table(vk::Device& device) {
  return create_weight(device, DType::kF32, kRows, kCols,
                       [](int64_t begin, int64_t count, void* dst, int64_t stride) {
                         float* out = static_cast<float*>(dst);
                         for (int64_t r = 0; r < count; ++r)
                           for (int64_t c = 0; c < kCols; ++c)
                             out[r * stride + c] = table_value(begin + r, c);
                       });
}

void expect_split_if_needed(const vk::Device& device, const Weight& w) {
  if (w.bytes() > device.info().max_storage_buffer_range)
    ASSERT_GE(w.chunks.size(), 2u) << "a table over maxStorageBufferRange must be chunked";
  std::printf("table %.1f MB in %zu chunks\n", w.bytes() / 1e6, w.chunks.size());
}

TEST(LargeTensor, EmbeddingOver128MiB) {
  vk::Device& device = test_device();
  Weight table = make_big_table(device);
  expect_split_if_needed(device, table);
  const int64_t boundary = table.chunks[0].row_count;  // first row of the second chunk
  std::vector<uint32_t> ids = {0, 1, uint32_t(boundary - 1), uint32_t(boundary),
                               uint32_t(kRows - 1), 12345, uint32_t(kRows - 777), 7};
  const int64_t M = int64_t(ids.size());
  vk::Buffer ids_dev = vk::Buffer::create(device, 4 * M, vk::MemoryKind::kDevice);
  device.upload(ids_dev, 0, ids.data(), 4 * M);
  Tensor y = Tensor::create(device, M, kCols);
  ops::EmbeddingArgs args;
  args.table = &table;
  args.ids = ops::View(ids_dev, 0, 1);
  args.M = M;
  args.y = y;
  vk::CommandStream stream(device);
  ops::embedding(stream, args);
  stream.finish();
  std::vector<float> expected(M * kCols);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < kCols; ++c) expected[m * kCols + c] = table_value(ids[m], c);
  // A gather copies values: exact.
  EXPECT_CLOSE(expected, y.download(device), 0.0, 0.0);
}

TEST(LargeTensor, LargeWeightMatmul) {
  vk::Device& device = test_device();
  Weight weight = make_big_table(device);
  expect_split_if_needed(device, weight);
  auto x = testing::random_vector(kCols, 81);
  Tensor x_dev = Tensor::create(device, 1, kCols);
  x_dev.upload(device, x);
  Tensor y_dev = Tensor::create(device, 1, kRows);

  // Every 97th output plus both sides of every chunk boundary.
  std::set<int64_t> sample;
  for (int64_t n = 0; n < kRows; n += 97) sample.insert(n);
  for (const WeightChunk& chunk : weight.chunks) {
    sample.insert(chunk.row_begin);
    sample.insert(chunk.row_begin + chunk.row_count - 1);
  }
  sample.insert(kRows - 1);
  std::vector<float> expected;
  for (int64_t n : sample) {
    double acc = 0;
    for (int64_t k = 0; k < kCols; ++k) acc += double(x[k]) * table_value(n, k);
    expected.push_back(float(acc));
  }

  std::set<std::pair<bool, bool>> seen;  // (texel, subgroup) GEMV variants
  for (const auto& [name, policy] : testing::all_policies(device.info())) {
    if (!seen.insert({policy.matmul.texel_weights, policy.matmul.subgroup}).second) continue;
    SCOPED_TRACE(name);
    std::vector<float> poison(kRows, -999.0f);
    y_dev.upload(device, poison);
    ops::MatmulArgs args;
    args.x = x_dev;
    args.M = 1;
    args.weight = &weight;
    args.y = y_dev;
    vk::CommandStream stream(device);
    ops::matmul(stream, args, policy.matmul, ops::MatmulKind::kVec);
    stream.finish();
    auto all = y_dev.download(device);
    std::vector<float> got;
    for (int64_t n : sample) got.push_back(all[n]);
    // K = 768 fp32 products of |x| <= 1, |w| <= 0.5: rounding ~sqrt(K) *
    // 6e-8 * sum|terms| (< 200) ~ 3e-4 worst case, far less in practice; a
    // row from the wrong chunk or offset is off by O(1).
    EXPECT_CLOSE(expected, got, 2e-4, 1e-4);
  }
}

}  // namespace
}  // namespace vkinfer
