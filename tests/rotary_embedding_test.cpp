// rotary and embedding against the references in tests/reference/small_ops_ref:
// Llama/NeoX (rotate_half) and GPT-J (interleaved) layouts, partial rotary,
// fused q|k|v rows, positions up to 2048; fp32 and fp16 tables split into
// small chunks, vocab-parallel row offsets and accumulation.
#include <gtest/gtest.h>

#include <cstring>

#include <cmath>

#include "engine/core/half.h"
#include "engine/ops/embedding.h"
#include "engine/ops/rotary.h"
#include "tests/reference/matmul_ref.h"
#include "tests/reference/small_ops_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

vk::Buffer upload_u32(const std::vector<uint32_t>& values, size_t lead = 0) {
  vk::Device& device = test_device();
  std::vector<uint32_t> padded(lead, 0xdeadbeefu);
  padded.insert(padded.end(), values.begin(), values.end());
  vk::Buffer buffer = vk::Buffer::create(device, 4 * padded.size(), vk::MemoryKind::kDevice);
  device.upload(buffer, 0, padded.data(), 4 * padded.size());
  return buffer;
}

std::vector<uint32_t> random_positions(size_t count, uint32_t seed, uint32_t limit) {
  std::vector<float> r = testing::random_vector(count, seed, 0.5f);
  std::vector<uint32_t> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = uint32_t((r[i] + 0.5f) * (limit - 1) + 0.5f);
  return out;
}

// ---------------------------------------------------------------- rotary
// The angle is an fp32 value as in HF, but its inv_freq factor comes from
// exp2 on the GPU and powf on the host (torch itself uses a 1-ulp pow), so
// the two can differ by an ulp of inv_freq: at position 2048 that is
// 2048 * 6e-8 = 1.2e-4 rad. After range reduction cos/sin add < 1e-6. With
// |x| <= 1 per element and two terms per output, outputs may differ by
// ~2.5e-4; 3e-4 absolute still catches a wrong pair, frequency or position
// (those are errors of order 1).
constexpr double kRotaryAtol = 3e-4, kRotaryRtol = 0;

struct RopeCase {
  int num_heads, head_dim, rotary_dim;
  bool interleaved;
  float theta;
  float position_divisor = 1.0f;  // linear rope_scaling
  reference::RopeLlama3 llama3{};  // Llama 3.1 rope_scaling when factor > 0
};

void run_rotary(int64_t M, const RopeCase& rc, int64_t row_stride, uint32_t max_position) {
  vk::Device& device = test_device();
  auto x = testing::random_vector(M * row_stride, 61);
  auto positions = random_positions(M, 62, max_position);
  Tensor x_dev = Tensor::create(device, M, row_stride);
  x_dev.upload(device, x);
  vk::Buffer pos_dev = upload_u32(positions, 3);
  ops::RotaryArgs args;
  args.x = ops::View(x_dev.buffer, 0, uint32_t(row_stride));
  args.M = M;
  args.num_heads = rc.num_heads;
  args.head_dim = rc.head_dim;
  args.rotary_dim = rc.rotary_dim;
  args.interleaved = rc.interleaved;
  args.theta = rc.theta;
  args.position_divisor = rc.position_divisor;
  args.llama3 = rc.llama3;
  args.positions = ops::View(pos_dev, 3, 1);
  vk::CommandStream stream(device);
  ops::rotary(stream, args);
  stream.finish();
  auto expected = x;
  reference::rotary(expected, positions, row_stride, rc.num_heads, rc.head_dim, rc.rotary_dim,
                    rc.interleaved, rc.theta, rc.position_divisor, rc.llama3);
  EXPECT_CLOSE(expected, x_dev.download(device), kRotaryAtol, kRotaryRtol)
      << "M=" << M << " heads=" << rc.num_heads << " head_dim=" << rc.head_dim
      << " rotary_dim=" << rc.rotary_dim << " interleaved=" << rc.interleaved
      << " divisor=" << rc.position_divisor << " llama3 factor=" << rc.llama3.factor;
}

TEST(Rotary, LayoutsPartialRotaryAndFusedRows) {
  const RopeCase cases[] = {
      {2, 64, 64, false, 10000.0f},    // Llama
      {3, 80, 32, false, 10000.0f},    // NeoX / Phi partial rotary
      {2, 64, 64, true, 10000.0f},     // GPT-J style, full
      {4, 256, 64, true, 10000.0f},    // GPT-J: 64 of 256 dims rotate
      {1, 6, 6, false, 500000.0f},     // tiny head, Llama-3 theta
      {5, 14, 10, true, 10000.0f},
      {2, 16, 16, false, 10000.0f, 4.0f},     // linear rope_scaling, factor 4
      {3, 12, 6, false, 20000.0f, 2.5f},      // partial rotary, factor 2.5 (not a power of 2)
      // Llama 3.1's rope_scaling with its real factors (8, 1, 4, 8192) on a
      // 128-dim head: 64 frequencies span all three bands.
      {2, 128, 128, false, 500000.0f, 1.0f, {8.0f, 1.0f, 4.0f, 8192.0f}},
      // The same bands squeezed onto 16 frequencies (original context 64).
      {1, 32, 32, false, 10000.0f, 1.0f, {4.0f, 1.0f, 4.0f, 64.0f}}};
  for (int64_t M : {1, 3, 17})
    for (const RopeCase& rc : cases) {
      const int64_t heads_width = int64_t(rc.num_heads) * rc.head_dim;
      run_rotary(M, rc, heads_width, 2048);
      // A fused q|k|v row: only the first num_heads heads may change.
      run_rotary(M, rc, 3 * heads_width + 5, 2048);
    }
}

// A packed step batch of sequences whose dynamic rope_scaling bases differ:
// each row's position and log2(theta) (hi, lo) come from the decoder's row
// table (stride 8, position at word 4). Each row must equal the reference
// run with its own theta.
TEST(Rotary, PerRowThetaFromARowTable) {
  vk::Device& device = test_device();
  const RopeCase rc{3, 24, 16, false, 10000.0f};
  for (int64_t M : {1, 5, 13}) {
    const int64_t width = 2 * rc.num_heads * rc.head_dim + 3;
    auto x = testing::random_vector(M * width, 71);
    auto positions = random_positions(M, 72, 300);
    std::vector<float> thetas;
    std::vector<uint32_t> table;
    for (int64_t m = 0; m < M; ++m) {
      thetas.push_back(10000.0f * (1.0f + 0.37f * float(m % 4)));
      float hi = 0, lo = 0;
      ops::split_log2_theta(thetas.back(), hi, lo);
      uint32_t entry[8] = {0xdeadbeefu, 0xdeadbeefu, 0xdeadbeefu, 0xdeadbeefu, positions[m], 0, 0, 0xdeadbeefu};
      std::memcpy(&entry[5], &hi, 4);
      std::memcpy(&entry[6], &lo, 4);
      table.insert(table.end(), entry, entry + 8);
    }
    Tensor x_dev = Tensor::create(device, M, width);
    x_dev.upload(device, x);
    vk::Buffer table_dev = upload_u32(table);
    ops::RotaryArgs args;
    args.x = ops::View(x_dev.buffer, 0, uint32_t(width));
    args.M = M;
    args.num_heads = rc.num_heads;
    args.head_dim = rc.head_dim;
    args.rotary_dim = rc.rotary_dim;
    args.positions = ops::View(table_dev, 4, 8);
    args.row_theta = true;
    vk::CommandStream stream(device);
    ops::rotary(stream, args);
    stream.finish();
    std::vector<float> expected;
    for (int64_t m = 0; m < M; ++m) {
      std::vector<float> row(x.begin() + m * width, x.begin() + (m + 1) * width);
      reference::rotary(row, {positions[m]}, width, rc.num_heads, rc.head_dim, rc.rotary_dim, false,
                        thetas[m], 1.0f, {});
      expected.insert(expected.end(), row.begin(), row.end());
    }
    EXPECT_CLOSE(expected, x_dev.download(device), kRotaryAtol, kRotaryRtol) << "M=" << M;
  }
}

TEST(Rotary, AngleAccuracyUpToPosition2048) {
  // x = (1, 0) in every pair makes the outputs cos and sin themselves, for
  // every frequency at every position 0..2047. Against cos/sin in double of
  // the fp32 angle HF computes, the error (dominated by the 1-ulp inv_freq
  // difference described above) must stay under kRotaryAtol; without the
  // range reduction large angles would rely on cos/sin accuracy that GLSL
  // does not promise beyond [-pi, pi].
  vk::Device& device = test_device();
  for (bool interleaved : {false, true})
    for (float theta : {10000.0f, 500000.0f}) {
      const int head_dim = 128;
      const int64_t M = 2048;
      std::vector<float> x(M * head_dim, 0.0f);
      for (int64_t m = 0; m < M; ++m)
        for (int i = 0; i < head_dim / 2; ++i) x[m * head_dim + (interleaved ? 2 * i : i)] = 1.0f;
      std::vector<uint32_t> positions(M);
      for (int64_t m = 0; m < M; ++m) positions[m] = uint32_t(m);
      Tensor x_dev = Tensor::create(device, M, head_dim);
      x_dev.upload(device, x);
      vk::Buffer pos_dev = upload_u32(positions);
      ops::RotaryArgs args;
      args.x = x_dev;
      args.M = M;
      args.num_heads = 1;
      args.head_dim = head_dim;
      args.rotary_dim = head_dim;
      args.interleaved = interleaved;
      args.theta = theta;
      args.positions = ops::View(pos_dev, 0, 1);
      vk::CommandStream stream(device);
      ops::rotary(stream, args);
      stream.finish();
      auto got = x_dev.download(device);
      auto expected = x;
      reference::rotary(expected, positions, head_dim, 1, head_dim, head_dim, interleaved, theta);
      double max_err = 0;
      for (size_t i = 0; i < got.size(); ++i)
        max_err = std::max(max_err, std::fabs(double(got[i]) - expected[i]));
      std::printf("rotary cos/sin max abs error, positions 0..2047, theta %.0f%s: %.3g\n", theta,
                  interleaved ? " interleaved" : "", max_err);
      EXPECT_CLOSE(expected, got, kRotaryAtol, kRotaryRtol);
    }
}

// ---------------------------------------------------------------- embedding
// fp32 table: a copy, times scale, plus y when accumulating: one or two fp32
// roundings against the double reference, 2 ulp of O(1) values. fp16 tables
// are compared with the same rounded values the device holds.
constexpr double kEmbedAtol = 1e-6, kEmbedRtol = 3e-7;

void run_embedding(DType dtype, int64_t rows, int64_t cols, int64_t chunk_rows, int64_t M,
                   bool accumulate, int64_t row_offset, float scale) {
  vk::Device& device = test_device();
  auto table = testing::random_vector(rows * cols, 71);
  auto table_ref = dtype == DType::kF16 ? reference::round_to_f16(table) : table;
  Weight w = create_weight_from_f32(device, dtype, rows, cols, table, chunk_rows);
  if (chunk_rows > 0) ASSERT_EQ(int64_t(w.chunks.size()), (rows + chunk_rows - 1) / chunk_rows);
  // Ids inside, below and above this rank's rows.
  auto ids = random_positions(M, 72, uint32_t(rows + 2 * row_offset + 3));
  if (M >= 3) { ids[0] = uint32_t(row_offset + rows - 1); ids[1] = uint32_t(row_offset); }
  auto y0 = testing::random_vector(M * cols, 73);
  vk::Buffer ids_dev = upload_u32(ids, 5);
  const int64_t y_stride = cols + 3;
  Tensor y_dev = Tensor::create(device, M, y_stride);
  std::vector<float> y_full(M * y_stride, -555.0f);
  for (int64_t m = 0; m < M; ++m)
    std::copy(y0.begin() + m * cols, y0.begin() + (m + 1) * cols, y_full.begin() + m * y_stride + 1);
  y_dev.upload(device, y_full);

  ops::EmbeddingArgs args;
  args.table = &w;
  args.ids = ops::View(ids_dev, 5, 1);
  args.M = M;
  args.y = ops::View(y_dev.buffer, 1, uint32_t(y_stride));
  args.accumulate = accumulate;
  args.row_offset = row_offset;
  args.scale = scale;
  vk::CommandStream stream(device);
  ops::embedding(stream, args);
  stream.finish();

  auto expected_full = y_full;
  std::vector<float> expected = y0;
  reference::embedding(table_ref, rows, cols, ids, row_offset, scale, accumulate, expected);
  for (int64_t m = 0; m < M; ++m)
    std::copy(expected.begin() + m * cols, expected.begin() + (m + 1) * cols,
              expected_full.begin() + m * y_stride + 1);
  EXPECT_CLOSE(expected_full, y_dev.download(device), kEmbedAtol, kEmbedRtol)
      << (dtype == DType::kF16 ? "f16" : "f32") << " chunk_rows=" << chunk_rows << " M=" << M
      << " accumulate=" << accumulate << " row_offset=" << row_offset;
}

TEST(Embedding, DtypesChunksOffsetsAccumulate) {
  for (DType dtype : {DType::kF32, DType::kF16})
    for (int64_t chunk_rows : {0, 7, 1})  // one chunk, several, one row each
      for (int64_t M : {1, 3, 17})
        for (bool accumulate : {false, true})
          for (int64_t row_offset : {0, 10}) {
            run_embedding(dtype, 37, 45, chunk_rows, M, accumulate, row_offset,
                          accumulate ? 1.0f : 2.5f);
          }
}

TEST(Embedding, OddWidths) {
  for (int64_t cols : {1, 7, 129, 1000})
    run_embedding(DType::kF16, 13, cols, 4, 17, false, 0, 1.0f);
}

}  // namespace
}  // namespace vkinfer
