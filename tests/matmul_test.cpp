// matmul op: every variant (GEMV/GEMM x fp32/fp16 x storage/texel x
// subgroup/shared) against the double-precision reference over odd shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "engine/core/error.h"
#include "engine/ops/matmul.h"
#include "tests/reference/matmul_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

struct Shape {
  int64_t M, N, K;
};

// fp32 accumulation over K <= ~300 terms of O(1) products: rounding error
// grows like sqrt(K) * 6e-8 * |sum of |terms||, about 1e-5 relative; 1e-4
// absolute plus 1e-4 relative leaves margin without hiding a wrong index.
constexpr double kAtol = 1e-4, kRtol = 1e-4;

void run_case(const Shape& s, DType dtype, ops::Act act, bool glu, bool use_bias,
              bool use_residual, const ops::KernelPolicy& policy, ops::MatmulKind kind,
              int64_t max_chunk_rows = 0) {
  vk::Device& device = test_device();
  auto x = testing::random_vector(s.M * s.K, 1);
  auto w = testing::random_vector(s.N * s.K, 2, 0.5f);
  auto w_up = testing::random_vector(s.N * s.K, 3, 0.5f);
  auto bias = testing::random_vector(s.N, 4);
  auto residual = testing::random_vector(s.M * s.N, 5);
  // fp16 storage rounds the weights; the reference uses the rounded values
  // so the comparison still checks the kernel's arithmetic at fp32 tolerance.
  auto w_ref = dtype == DType::kF16 ? reference::round_to_f16(w) : w;
  auto w_up_ref = dtype == DType::kF16 ? reference::round_to_f16(w_up) : w_up;

  Tensor x_dev = Tensor::create(device, s.M, s.K);
  x_dev.upload(device, x);
  Weight w_dev = create_weight_from_f32(device, dtype, s.N, s.K, w, max_chunk_rows);
  Weight w_up_dev = create_weight_from_f32(device, dtype, s.N, s.K, w_up, max_chunk_rows);
  Tensor b_dev = Tensor::create(device, 1, s.N);
  b_dev.upload(device, bias);
  Tensor r_dev = Tensor::create(device, s.M, s.N);
  r_dev.upload(device, residual);
  Tensor y_dev = Tensor::create(device, s.M, s.N);

  ops::MatmulArgs args;
  args.x = x_dev;
  args.M = s.M;
  args.weight = &w_dev;
  args.weight_up = glu ? &w_up_dev : nullptr;
  if (use_bias) args.bias = b_dev;
  if (use_residual) args.residual = r_dev;
  args.y = y_dev;
  args.act = act;
  vk::CommandStream stream(device);
  ops::matmul(stream, args, policy.matmul, kind);
  stream.finish();

  auto expected = reference::matmul(x, w_ref, glu ? &w_up_ref : nullptr, use_bias ? &bias : nullptr,
                                    use_residual ? &residual : nullptr, s.M, s.N, s.K, act);
  auto got = y_dev.download(device);
  EXPECT_CLOSE(expected, got, kAtol, kRtol) << "M=" << s.M << " N=" << s.N << " K=" << s.K;
}

TEST(Matmul, AllVariantsOddShapes) {
  const Shape shapes[] = {{1, 1, 1}, {1, 37, 19}, {3, 61, 45}, {4, 5, 8}, {5, 29, 33},
                          {17, 67, 95}, {33, 13, 127}, {70, 41, 64}};
  for (const auto& [name, policy] : testing::all_policies(test_device().info()))
    for (DType dtype : {DType::kF32, DType::kF16})
      for (const Shape& shape : shapes)
        for (ops::MatmulKind kind : {ops::MatmulKind::kVec, ops::MatmulKind::kTiled}) {
          SCOPED_TRACE(name + (dtype == DType::kF16 ? " f16 " : " f32 ") +
                       (kind == ops::MatmulKind::kVec ? "vec" : "tiled"));
          run_case(shape, dtype, ops::Act::kNone, false, true, false, policy, kind);
        }
}

TEST(Matmul, FusedEpilogues) {
  const Shape shapes[] = {{1, 23, 37}, {9, 31, 21}};
  for (const auto& [name, policy] : testing::all_policies(test_device().info()))
    for (const Shape& shape : shapes)
      for (ops::MatmulKind kind : {ops::MatmulKind::kVec, ops::MatmulKind::kTiled}) {
        SCOPED_TRACE(name);
        for (ops::Act act : {ops::Act::kGeluErf, ops::Act::kGeluTanh, ops::Act::kRelu,
                             ops::Act::kSilu, ops::Act::kTanh})
          run_case(shape, DType::kF32, act, false, true, true, policy, kind);
        run_case(shape, DType::kF16, ops::Act::kSilu, true, false, true, policy, kind);
      }
}

TEST(Matmul, ChunkedWeights) {
  // Chunks of 7 rows force the per-chunk dispatch path that big tensors use.
  for (ops::MatmulKind kind : {ops::MatmulKind::kVec, ops::MatmulKind::kTiled})
    for (DType dtype : {DType::kF32, DType::kF16})
      run_case({6, 45, 30}, dtype, ops::Act::kNone, true, true, true, testing::test_policy(),
               kind, 7);
}

TEST(Matmul, SubRangeOfOutputs) {
  vk::Device& device = test_device();
  const int64_t M = 2, N = 40, K = 24;
  auto x = testing::random_vector(M * K, 11);
  auto w = testing::random_vector(N * K, 12);
  Tensor x_dev = Tensor::create(device, M, K);
  x_dev.upload(device, x);
  Weight w_dev = create_weight_from_f32(device, DType::kF32, N, K, w, 9);
  Tensor y_dev = Tensor::create(device, M, N);
  std::vector<float> sentinel(M * N, 123.0f);
  y_dev.upload(device, sentinel);
  ops::MatmulArgs args;
  args.x = x_dev;
  args.M = M;
  args.weight = &w_dev;
  args.y = y_dev;
  args.n_begin = 13;
  args.n_end = 31;
  vk::CommandStream stream(device);
  ops::matmul(stream, args, testing::test_policy().matmul);
  stream.finish();
  auto full = reference::matmul(x, w, nullptr, nullptr, nullptr, M, N, K, ops::Act::kNone);
  auto got = y_dev.download(device);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float want = (n >= 13 && n < 31) ? full[m * N + n] : 123.0f;
      EXPECT_NEAR(got[m * N + n], want, 1e-4) << m << "," << n;
    }
}


// kAuto's choice: M at or above tiled_min_m, or K up to tiled_max_k_small_m,
// takes the tiled kernel; the result is the reference's either way.
TEST(Matmul, AutoChoosesKernelByShape) {
  vk::Device& device = test_device();
  ops::KernelPolicy policy = testing::test_policy();
  ops::apply_tuning(policy, "tiled_min_m=4,tiled_max_k_small_m=40");
  struct Case {
    int64_t M, K;
    const char* kernel;
  };
  for (const Case& c : {Case{1, 33, "matmul_tiled"}, Case{1, 41, "matmul_vec"},
                        Case{3, 40, "matmul_tiled"}, Case{3, 95, "matmul_vec"},
                        Case{4, 95, "matmul_tiled"}}) {
    SCOPED_TRACE("M=" + std::to_string(c.M) + " K=" + std::to_string(c.K));
    const int64_t N = 29;
    auto x = testing::random_vector(c.M * c.K, 21);
    auto w = testing::random_vector(N * c.K, 22);
    Tensor x_dev = Tensor::create(device, c.M, c.K);
    x_dev.upload(device, x);
    Weight w_dev = create_weight_from_f32(device, DType::kF32, N, c.K, w);
    Tensor y_dev = Tensor::create(device, c.M, N);
    ops::MatmulArgs args;
    args.x = x_dev;
    args.M = c.M;
    args.weight = &w_dev;
    args.y = y_dev;
    vk::CommandStream stream(device, {.profile = true});
    ops::matmul(stream, args, policy.matmul);
    stream.finish();
    ASSERT_EQ(stream.timings().size(), 1u);
    EXPECT_EQ(stream.timings()[0].label, c.kernel);
    auto expected = reference::matmul(x, w, nullptr, nullptr, nullptr, c.M, N, c.K, ops::Act::kNone);
    EXPECT_CLOSE(expected, y_dev.download(device), kAtol, kRtol);
  }
}

TEST(Matmul, TuningOverridesAreChecked) {
  ops::KernelPolicy policy = testing::test_policy();
  ops::apply_tuning(policy, "vec_rows=8,tiled_max_k_small_m=0,tile_n=4");
  EXPECT_EQ(policy.matmul.vec_rows, 8u);
  EXPECT_EQ(policy.matmul.tiled_max_k_small_m, 0u);
  EXPECT_EQ(policy.matmul.tile_n, 4u);
  for (const char* bad : {"vec_rows=0", "tile_n=", "no_such_knob=3", "vec_rows", "tile_m=4x", "tiled_max_k_small_m=x"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(ops::apply_tuning(policy, bad), Error);
  }
}

}  // namespace
}  // namespace vkinfer
