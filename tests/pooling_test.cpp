// Sentence pooling (ops/pooling) against the double reference in
// tests/reference/pooling_ref over odd shapes (widths and bucket lengths that
// are no multiple of any workgroup), every mode alone and the combinations
// sentence-transformers concatenates, with and without L2 normalization,
// both reduction variants, offset/strided views and poisoned padding rows
// that a read past a sequence's length would pull into a mean or max.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engine/ops/pooling.h"
#include "tests/reference/pooling_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

// The reductions all_policies() covers, plus a shared tree over a workgroup
// that is not a power of two.
std::vector<std::pair<std::string, ops::ReducePolicy>> reduce_variants() {
  std::vector<std::pair<std::string, ops::ReducePolicy>> out;
  std::set<std::pair<bool, uint32_t>> seen;
  for (const auto& [name, policy] : testing::all_policies(test_device().info()))
    if (seen.insert({policy.reduce.subgroup, policy.reduce.workgroup}).second)
      out.emplace_back(policy.reduce.subgroup ? "subgroup" : "shared", policy.reduce);
  out.emplace_back("shared_wg24", ops::ReducePolicy{false, 24});
  return out;
}

reference::PoolingModes modes_of(uint32_t bits) {
  return {(bits & POOL_CLS) != 0, (bits & POOL_MAX) != 0, (bits & POOL_MEAN) != 0,
          (bits & POOL_MEAN_SQRT_LEN) != 0};
}

// fp32 sums of at most 37 O(1) values and one division/sqrt: ~1e-6 relative;
// normalized outputs are O(0.1). 2e-6 absolute + 2e-6 relative still catches
// a padding row in a mean (>1e-2 here) or a wrong segment order.
constexpr double kAtol = 2e-6, kRtol = 2e-6;
constexpr float kPoison = 1000.0f;

void run_pooling(int64_t N, int64_t T, const std::vector<int64_t>& lengths, uint32_t modes,
                 bool normalize, const ops::ReducePolicy& policy) {
  vk::Device& device = test_device();
  const int64_t batch = static_cast<int64_t>(lengths.size());
  const int64_t x_pad = 3, x_offset = 5, y_pad = 2, y_offset = 7;
  std::vector<float> x = testing::random_vector(batch * T * N, 31, 2.0f);
  // Padding rows hold a large value, so reading one shows.
  for (int64_t s = 0; s < batch; ++s)
    for (int64_t t = lengths[s]; t < T; ++t)
      for (int64_t c = 0; c < N; ++c) x[(s * T + t) * N + c] = kPoison;
  // Strided rows (stride N + x_pad) after x_offset poisoned elements.
  const int64_t x_stride = N + x_pad;
  std::vector<float> x_full(x_offset + batch * T * x_stride, kPoison);
  for (int64_t r = 0; r < batch * T; ++r)
    for (int64_t c = 0; c < N; ++c) x_full[x_offset + r * x_stride + c] = x[r * N + c];
  Tensor x_dev = Tensor::create(device, 1, static_cast<int64_t>(x_full.size()));
  x_dev.upload(device, x_full);

  std::vector<uint32_t> bounds;
  for (int64_t length : lengths) {
    bounds.push_back(0);
    bounds.push_back(static_cast<uint32_t>(length));
  }
  vk::Buffer bounds_dev = vk::Buffer::create(device, bounds.size() * 4, vk::MemoryKind::kDevice);
  device.upload(bounds_dev, 0, bounds.data(), bounds.size() * 4);

  const int64_t width = ops::pooled_width(modes, N), y_stride = width + y_pad;
  Tensor y_dev = Tensor::create(device, 1, y_offset + batch * y_stride);
  y_dev.upload(device, std::vector<float>(y_offset + batch * y_stride, -5.0f));

  ops::PoolingArgs args;
  args.x = ops::View(x_dev.buffer, uint32_t(x_offset), uint32_t(x_stride));
  args.seq_bounds = &bounds_dev;
  args.batch = batch;
  args.rows_per_seq = T;
  args.N = N;
  args.modes = modes;
  args.normalize = normalize;
  args.y = ops::View(y_dev.buffer, uint32_t(y_offset), uint32_t(y_stride));
  vk::CommandStream stream(device);
  ops::pooling(stream, args, policy);
  stream.finish();

  const std::vector<float> full = y_dev.download(device);
  std::vector<float> got;
  for (int64_t s = 0; s < batch; ++s)
    got.insert(got.end(), full.begin() + y_offset + s * y_stride,
               full.begin() + y_offset + s * y_stride + width);
  EXPECT_CLOSE(reference::pooling(x, lengths, T, N, modes_of(modes), normalize), got, kAtol, kRtol)
      << "N=" << N << " T=" << T << " modes=" << modes << " normalize=" << normalize;
  // The gaps between output rows are untouched.
  for (int64_t s = 0; s < batch; ++s)
    for (int64_t c = width; c < y_stride; ++c)
      EXPECT_EQ(full[y_offset + s * y_stride + c], -5.0f) << "wrote past row " << s;
  for (int64_t i = 0; i < y_offset; ++i) EXPECT_EQ(full[i], -5.0f) << "wrote before y";
}

TEST(Pooling, EveryModeOddShapesEveryReduction) {
  for (const auto& [name, policy] : reduce_variants())
    for (int64_t N : {1, 7, 37, 130})
      for (uint32_t modes : {POOL_CLS, POOL_MAX, POOL_MEAN, POOL_MEAN_SQRT_LEN})
        for (bool normalize : {false, true}) {
          SCOPED_TRACE(name);
          run_pooling(N, 13, {13, 1, 6}, modes, normalize, policy);
        }
}

TEST(Pooling, CombinedModesConcatenateInSentenceTransformersOrder) {
  for (const auto& [name, policy] : reduce_variants())
    for (uint32_t modes : {POOL_CLS | POOL_MEAN, POOL_MAX | POOL_MEAN_SQRT_LEN,
                           POOL_CLS | POOL_MAX | POOL_MEAN_SQRT_LEN, POOL_ALL_MODES})
      for (bool normalize : {false, true}) {
        SCOPED_TRACE(name);
        run_pooling(37, 9, {2, 9, 5, 1, 7}, modes, normalize, policy);
      }
}

TEST(Pooling, ManySequencesAndLongRows) {
  // 70 sequences: more workgroups than lanes; a 37-row bucket.
  std::vector<int64_t> lengths;
  for (int i = 0; i < 70; ++i) lengths.push_back(1 + (i * 17) % 37);
  for (const auto& [name, policy] : reduce_variants()) {
    SCOPED_TRACE(name);
    run_pooling(19, 37, lengths, POOL_MEAN | POOL_MAX, true, policy);
  }
}

TEST(Pooling, NormalizeOfZeroRowIsZero) {
  // F.normalize divides by max(|y|, 1e-12): an all-zero row stays zero, not NaN.
  vk::Device& device = test_device();
  Tensor x = Tensor::create(device, 4, 5);
  x.upload(device, std::vector<float>(20, 0.0f));
  const uint32_t bounds[4] = {0, 2, 0, 1};
  vk::Buffer bounds_dev = vk::Buffer::create(device, sizeof(bounds), vk::MemoryKind::kDevice);
  device.upload(bounds_dev, 0, bounds, sizeof(bounds));
  Tensor y = Tensor::create(device, 2, 5);
  ops::PoolingArgs args;
  args.x = x;
  args.seq_bounds = &bounds_dev;
  args.batch = 2;
  args.rows_per_seq = 2;
  args.N = 5;
  args.modes = POOL_MEAN;
  args.normalize = true;
  args.y = y;
  vk::CommandStream stream(device);
  ops::pooling(stream, args, testing::test_policy().reduce);
  stream.finish();
  EXPECT_CLOSE(std::vector<float>(10, 0.0f), y.download(device), 0.0, 0.0);
}

}  // namespace
}  // namespace vkinfer
