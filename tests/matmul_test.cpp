// matmul op: every variant (GEMV/GEMM x fp32/fp16 x storage/texel x
// subgroup/shared) against the double-precision reference over odd shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "engine/core/error.h"
#include "engine/ops/matmul.h"
#include "tests/reference/matmul_ref.h"
#include "tests/reference/small_ops_ref.h"
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
  // Every variant runs bias + activation + residual, and GLU. The activation
  // itself is the same epilogue code in every variant, so each of them runs
  // under the device's own policy only: every (variant, epilogue) pair is a
  // pipeline, and on a cold shader cache all of them took ~7 minutes.
  for (ops::MatmulKind kind : {ops::MatmulKind::kVec, ops::MatmulKind::kTiled})
    for (const Shape& shape : shapes)
      for (ops::Act act : {ops::Act::kGeluErf, ops::Act::kRelu, ops::Act::kSilu, ops::Act::kTanh})
        run_case(shape, DType::kF32, act, false, true, true, testing::test_policy(), kind);
  for (const auto& [name, policy] : testing::all_policies(test_device().info()))
    for (const Shape& shape : shapes)
      for (ops::MatmulKind kind : {ops::MatmulKind::kVec, ops::MatmulKind::kTiled}) {
        SCOPED_TRACE(name);
        run_case(shape, DType::kF32, ops::Act::kGeluTanh, false, true, true, policy, kind);
        run_case(shape, DType::kF16, ops::Act::kSilu, true, false, true, policy, kind);
      }
}

// A norm's input X with the norm finished inside the matmul (decode): against
// the reference norm followed by the reference matmul. X is offset from zero
// (mean 1.5 against a spread of ~0.6) so the mean's term matters, rows start
// at unaligned offsets in some cases, weights come in chunks in others.
struct NormCase {
  int64_t M, N, K;
  uint32_t x_offset;
  bool rms, glu;
  int64_t chunk_rows;
  bool has_beta = true;  // LayerNorm without a bias: W.beta must be zeros
};

void run_norm_case(const NormCase& c, DType dtype, const ops::KernelPolicy& policy, ops::MatmulKind kind) {
  vk::Device& device = test_device();
  const uint32_t stride = static_cast<uint32_t>(c.K + 5);
  auto x_rows = testing::random_vector(c.M * stride + c.x_offset, 11);
  for (float& v : x_rows) v += 1.5f;
  auto gamma = testing::random_vector(c.K, 12);
  auto beta = testing::random_vector(c.K, 13);
  auto w = testing::random_vector(c.N * c.K, 14, 0.5f);
  auto w_up = testing::random_vector(c.N * c.K, 15, 0.5f);
  auto bias = testing::random_vector(c.N, 16);
  auto w_ref = dtype == DType::kF16 ? reference::round_to_f16(w) : w;
  auto w_up_ref = dtype == DType::kF16 ? reference::round_to_f16(w_up) : w_up;
  const double eps = 1e-5;

  Tensor x_dev = Tensor::create(device, 1, static_cast<int64_t>(x_rows.size()));
  x_dev.upload(device, x_rows);
  if (!c.has_beta) std::fill(beta.begin(), beta.end(), 0.0f);
  // Gain and bias as the two rows of one tensor.
  std::vector<float> gamma_beta(gamma);
  gamma_beta.insert(gamma_beta.end(), beta.begin(), beta.end());
  Tensor gb_dev = Tensor::create(device, 2, c.K);
  gb_dev.upload(device, gamma_beta);
  Weight w_dev = create_weight_from_f32(device, dtype, c.N, c.K, w, c.chunk_rows);
  Weight w_up_dev = create_weight_from_f32(device, dtype, c.N, c.K, w_up, c.chunk_rows);
  Tensor b_dev = Tensor::create(device, 1, c.N);
  b_dev.upload(device, bias);
  Tensor sums = Tensor::create(device, 4, c.N);
  sums.upload(device, std::vector<float>(4 * c.N, 777.0f));  // poison: every sum is written
  Tensor y_dev = Tensor::create(device, c.M, c.N);

  vk::CommandStream stream(device);
  ops::InputNorm norm;
  norm.gamma = gb_dev;
  norm.eps = static_cast<float>(eps);
  norm.rms = c.rms;
  if (!c.rms) {
    const ops::View gamma_view(gb_dev), beta_view = c.has_beta ? gamma_view.at_row(1) : ops::View();
    ops::norm_sums(stream, w_dev, c.glu ? &w_up_dev : nullptr, gamma_view, beta_view, sums,
                   policy.matmul);
    norm.sums = sums;
  }
  ops::MatmulArgs args;
  args.x = ops::View(x_dev.buffer, c.x_offset, stride);
  args.M = c.M;
  args.weight = &w_dev;
  args.weight_up = c.glu ? &w_up_dev : nullptr;
  args.bias = b_dev;
  args.act = c.glu ? ops::Act::kSilu : ops::Act::kGeluTanh;
  args.y = y_dev;
  args.input_norm = &norm;
  ops::matmul(stream, args, policy.matmul, kind);
  stream.finish();

  std::vector<float> x(c.M * c.K);
  for (int64_t m = 0; m < c.M; ++m)
    std::copy_n(x_rows.begin() + c.x_offset + m * stride, c.K, x.begin() + m * c.K);
  auto normed = reference::norm(x, nullptr, &gamma, c.rms ? nullptr : &beta, c.M, c.K, eps, c.rms);
  auto expected = reference::matmul(normed, w_ref, c.glu ? &w_up_ref : nullptr, &bias, nullptr,
                                    c.M, c.N, c.K, args.act);
  EXPECT_CLOSE(expected, y_dev.download(device), kAtol, kRtol)
      << "M=" << c.M << " N=" << c.N << " K=" << c.K << " x_offset=" << c.x_offset
      << " rms=" << c.rms << " glu=" << c.glu << " chunk rows " << c.chunk_rows
      << " beta=" << c.has_beta;
}

TEST(Matmul, InputNormFinishedInEpilogue) {
  // Each case is a pipeline per variant, so they are few: LayerNorm and
  // RMSNorm, with and without GLU, aligned and not, K with a tail, chunks,
  // and a LayerNorm without a bias.
  const NormCase cases[] = {{1, 37, 64, 0, false, false, 0}, {3, 29, 45, 3, false, true, 7},
                            {1, 61, 64, 4, true, false, 9},  {3, 19, 19, 1, true, true, 0},
                            {2, 23, 45, 0, false, true, 0, false}};
  // The two opposite variants (texel loads with subgroup sums, storage loads
  // with shared-memory sums) cover every code path of the norm; all variants
  // would take minutes of pipeline compiles on a cold shader cache.
  for (const auto& [name, policy] : testing::all_policies(test_device().info())) {
    if (name != "texel_subgroup" && name != "storage_shared") continue;
    for (DType dtype : {DType::kF32, DType::kF16})
      for (ops::MatmulKind kind : {ops::MatmulKind::kVec, ops::MatmulKind::kTiled}) {
        SCOPED_TRACE(name + (dtype == DType::kF16 ? " f16 " : " f32 ") +
                     (kind == ops::MatmulKind::kVec ? "vec" : "tiled"));
        for (const NormCase& c : cases) run_norm_case(c, dtype, policy, kind);
      }
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

// CPU drivers narrow the prefill tiles of small models (their JIT cost is
// what a cold start waits for) and keep decode's wide one-row tiles; a
// model-free policy and every GPU keep the device defaults.
TEST(Matmul, PolicyFitsSmallModelsOnCpuDrivers) {
  const vk::DeviceInfo& info = testing::test_device().info();
  const ops::KernelPolicy plain = ops::choose_policy(info);
  const ops::KernelPolicy small = ops::choose_policy(info, 192 * 768);
  const ops::KernelPolicy large = ops::choose_policy(info, 768 * 3072);
  EXPECT_EQ(large.matmul.tile_m, plain.matmul.tile_m);
  EXPECT_EQ(large.matmul.tile_n, plain.matmul.tile_n);
  EXPECT_EQ(large.matmul.norm_fuse_max_m, plain.matmul.norm_fuse_max_m);
  if (info.type == VK_PHYSICAL_DEVICE_TYPE_CPU && !std::getenv("VKINFER_KERNEL_TUNING")) {
    EXPECT_LT(small.matmul.tile_m * small.matmul.tile_n, plain.matmul.tile_m * plain.matmul.tile_n);
    EXPECT_EQ(small.matmul.tile_n_single, plain.matmul.tile_n);
    EXPECT_EQ(small.matmul.norm_fuse_max_m, 1u);
  } else {
    EXPECT_EQ(small.matmul.tile_m, plain.matmul.tile_m);
    EXPECT_EQ(small.matmul.tile_n, plain.matmul.tile_n);
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
