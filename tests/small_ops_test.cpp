// norm, softmax, elementwise and argmax against the double references in
// tests/reference/small_ops_ref over odd shapes (no multiple of any
// workgroup), every reduction variant, strided/offset views and aliasing.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "engine/ops/argmax.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/norm.h"
#include "engine/ops/softmax.h"
#include "tests/reference/small_ops_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

const int64_t kRows[] = {1, 3, 17};
const int64_t kCols[] = {1, 7, 37, 129, 1000, 4099};

// The distinct reductions all_policies() covers (subgroup and shared), plus a
// shared tree over a workgroup that is not a power of two.
std::vector<std::pair<std::string, ops::ReducePolicy>> reduce_variants() {
  std::vector<std::pair<std::string, ops::ReducePolicy>> out;
  std::set<std::pair<int, uint32_t>> seen;
  for (const auto& [name, policy] : testing::all_policies(test_device().info()))
    if (seen.insert({policy.reduce.subgroup + 2 * policy.reduce.texel_rows, policy.reduce.workgroup}).second)
      out.emplace_back(std::string(policy.reduce.subgroup ? "subgroup" : "shared") +
                           (policy.reduce.texel_rows ? "_texel" : ""),
                       policy.reduce);
  out.emplace_back("shared_wg24", ops::ReducePolicy{false, 24});
  return out;
}

TEST(SmallOps, BothReductionVariantsAreSwept) {
  const bool subgroup = test_device().info().enabled.subgroup_arithmetic;
  int subgroup_variants = 0;
  for (const auto& [name, policy] : reduce_variants()) subgroup_variants += policy.subgroup;
  EXPECT_EQ(subgroup_variants > 0, subgroup);
  EXPECT_GE(reduce_variants().size(), subgroup ? 3u : 2u);
}

// Rows of `cols` values placed at column `offset` of rows `stride` wide, so
// every op also proves it honours offsets and strides.
struct Strided {
  Tensor tensor;
  int64_t rows, cols, offset;
  ops::View view() const { return ops::View(tensor.buffer, uint32_t(offset), uint32_t(tensor.cols)); }

  // At column `offset` (default pad / 2) with `poison` around the window.
  static Strided make(const std::vector<float>& dense, int64_t rows, int64_t cols, int64_t pad,
                      int64_t offset = -1, float poison = -777.0f) {
    Strided s{Tensor::create(test_device(), rows, cols + pad), rows, cols, offset < 0 ? pad / 2 : offset};
    std::vector<float> full(rows * (cols + pad), poison);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) full[r * (cols + pad) + s.offset + c] = dense[r * cols + c];
    s.tensor.upload(test_device(), full);
    return s;
  }
  std::vector<float> dense() const {
    std::vector<float> full = tensor.download(test_device()), out(rows * cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = full[r * tensor.cols + offset + c];
    return out;
  }
};

std::vector<float> shifted(std::vector<float> v, float shift) {
  for (float& x : v) x += shift;
  return v;
}

// ---------------------------------------------------------------- norm
// fp32 sums of N <= 4099 O(1) terms carry ~sqrt(N) * 6e-8 relative error and
// rsqrt 2 ulp; outputs are O(1-5) (gamma in [-1.5, 1.5], plus beta), so
// 1e-4 absolute + 1e-4 relative holds with margin and still catches a wrong
// mean, variance (1/N vs 1/(N-1) is >2e-4 at N=4099 for |y|~1) or index.
constexpr double kNormAtol = 1e-4, kNormRtol = 1e-4;

// `aligned` puts x, r, gamma and beta at vec4-aligned offsets and strides
// (the texel path) with a large poison around them that any unmasked read
// past N would add to the sums.
void run_norm(int64_t M, int64_t N, bool rms, bool with_residual, bool with_sum_out,
              bool in_place, const ops::ReducePolicy& policy, float mean_shift = 0.0f,
              bool aligned = false) {
  vk::Device& device = test_device();
  auto x = shifted(testing::random_vector(M * N, 21, 2.0f), mean_shift);
  auto residual = testing::random_vector(M * N, 22);
  auto gamma = testing::random_vector(N, 23, 1.5f);
  auto beta = testing::random_vector(N, 24);
  const int64_t aligned_pad = (N + 7) / 4 * 4 - N;
  Strided x_dev = aligned ? Strided::make(x, M, N, aligned_pad, 4, 777.0f) : Strided::make(x, M, N, 5);
  Strided r_dev = aligned ? Strided::make(residual, M, N, aligned_pad, 4, 777.0f) : Strided::make(residual, M, N, 2);
  Strided s_dev = Strided::make(std::vector<float>(M * N, 0.0f), M, N, 3);
  Strided y_dev = Strided::make(std::vector<float>(M * N, 0.0f), M, N, 4);
  const int64_t g_offset = aligned ? 4 : 3, b_offset = aligned ? 4 : 1;
  Tensor g_dev = Tensor::create(device, 1, N + 8);
  Tensor b_dev = Tensor::create(device, 1, N + 8);
  std::vector<float> g_full(N + 8, 777.0f), b_full(N + 8, 777.0f);
  std::copy(gamma.begin(), gamma.end(), g_full.begin() + g_offset);
  std::copy(beta.begin(), beta.end(), b_full.begin() + b_offset);
  g_dev.upload(device, g_full);
  b_dev.upload(device, b_full);

  ops::NormArgs args;
  args.x = x_dev.view();
  if (with_residual) args.residual = r_dev.view();
  if (with_sum_out) args.sum_out = in_place ? x_dev.view() : s_dev.view();
  args.gamma = ops::View(g_dev.buffer, uint32_t(g_offset), 0);
  if (!rms) args.beta = ops::View(b_dev.buffer, uint32_t(b_offset), 0);
  args.y = in_place ? x_dev.view() : y_dev.view();
  args.M = M;
  args.N = N;
  args.eps = rms ? 1e-6f : 1e-5f;
  args.rms = rms;
  vk::CommandStream stream(device);
  ops::norm(stream, args, policy);
  stream.finish();

  std::vector<float> h_ref;
  auto expected = reference::norm(x, with_residual ? &residual : nullptr, &gamma,
                                  rms ? nullptr : &beta, M, N, args.eps, rms, &h_ref);
  EXPECT_CLOSE(expected, in_place ? x_dev.dense() : y_dev.dense(), kNormAtol, kNormRtol)
      << (rms ? "rms" : "layer") << " M=" << M << " N=" << N;
  // h = x + r is one fp32 add on both sides: bit-identical.
  if (with_sum_out && !in_place) EXPECT_CLOSE(h_ref, s_dev.dense(), 0.0, 0.0);
  if (!in_place) EXPECT_CLOSE(x, x_dev.dense(), 0.0, 0.0) << "x must be left untouched";
}

TEST(Norm, OddShapesEveryReduction) {
  for (const auto& [name, policy] : reduce_variants())
    for (int64_t M : kRows)
      for (int64_t N : kCols)
        for (bool rms : {false, true}) {
          SCOPED_TRACE(name);
          run_norm(M, N, rms, false, false, false, policy);
          run_norm(M, N, rms, false, false, false, policy, 0.0f, true);
          run_norm(M, N, rms, true, false, false, policy, 0.0f, true);
        }
}

TEST(Norm, FusedResidualSumOutAndInPlace) {
  for (const auto& [name, policy] : reduce_variants())
    for (int64_t N : {37, 1000})
      for (bool rms : {false, true}) {
        SCOPED_TRACE(name);
        run_norm(3, N, rms, true, true, false, policy);
        run_norm(3, N, rms, true, false, true, policy);  // y aliases x
        run_norm(3, N, rms, true, true, true, policy);   // sum_out and y alias x
        run_norm(3, N, rms, true, false, true, policy, 0.0f, true);
      }
}

TEST(Norm, LargeMeanRows) {
  // Rows of ~1000 +- 2: E[x^2] - mean^2 in fp32 would lose the variance
  // (1e6 * 6e-8 = 0.06 of ~1.3) and an unshifted fp32 sum loses ~1e-4 of the
  // mean, which fails kNormAtol (measured 1.8e-4 before the pivot shift).
  for (const auto& [name, policy] : reduce_variants()) {
    SCOPED_TRACE(name);
    run_norm(3, 1000, false, false, false, false, policy, 1000.0f);
    run_norm(3, 1000, false, false, false, false, policy, 1000.0f, true);
  }
}

// ---------------------------------------------------------------- softmax
// Probabilities are <= 1; GLSL exp is within a few ulp for arguments in
// [-88, 0] and the row sum adds ~sqrt(N) * 6e-8 relative, so 1e-6 absolute
// plus 1e-5 relative is tight enough to catch a missing max or mask term.
constexpr double kSoftmaxAtol = 1e-6, kSoftmaxRtol = 1e-5;

// `aligned` puts x's rows at vec4-aligned offsets and strides (the texel
// path) with a large positive poison around them, which any read past N that
// is not masked off would turn into the row's maximum.
void run_softmax(int64_t M, int64_t N, bool with_mask, bool in_place, float scale,
                 const ops::ReducePolicy& policy, const std::vector<float>* mask_values = nullptr,
                 bool aligned = false) {
  vk::Device& device = test_device();
  auto x = testing::random_vector(M * N, 31, 8.0f);
  auto mask = mask_values ? *mask_values : testing::random_vector(M * N, 32, 3.0f);
  Strided x_dev = aligned ? Strided::make(x, M, N, (N + 7) / 4 * 4 - N, 4, 777.0f) : Strided::make(x, M, N, 3);
  Strided m_dev = Strided::make(mask, M, N, 6);
  Strided y_dev = Strided::make(std::vector<float>(M * N, 0.0f), M, N, 1);
  ops::SoftmaxArgs args;
  args.x = x_dev.view();
  args.y = in_place ? x_dev.view() : y_dev.view();
  args.M = M;
  args.N = N;
  args.scale = scale;
  if (with_mask) args.mask = m_dev.view();
  vk::CommandStream stream(device);
  ops::softmax(stream, args, policy);
  stream.finish();
  auto expected = reference::softmax(x, with_mask ? &mask : nullptr, M, N, scale);
  EXPECT_CLOSE(expected, in_place ? x_dev.dense() : y_dev.dense(), kSoftmaxAtol, kSoftmaxRtol)
      << "M=" << M << " N=" << N;
}

TEST(Softmax, OddShapesEveryReduction) {
  for (const auto& [name, policy] : reduce_variants())
    for (int64_t M : kRows)
      for (int64_t N : kCols) {
        SCOPED_TRACE(name);
        run_softmax(M, N, false, false, 1.0f, policy);
        run_softmax(M, N, true, false, 0.125f, policy);
        run_softmax(M, N, false, false, 1.0f, policy, nullptr, true);
        run_softmax(M, N, true, true, 0.125f, policy, nullptr, true);
      }
}

TEST(Softmax, CausalMaskFullyMaskedRowAndInPlace) {
  const float inf = std::numeric_limits<float>::infinity();
  for (const auto& [name, policy] : reduce_variants())
    for (int64_t N : {7, 129}) {
      SCOPED_TRACE(name);
      const int64_t M = 5;
      std::vector<float> mask(M * N, 0.0f);
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n)
          if (n > m || m == 2) mask[m * N + n] = -inf;  // row 2 is fully masked
      run_softmax(M, N, true, false, 0.5f, policy, &mask);
      run_softmax(M, N, true, true, 0.5f, policy, &mask);
      run_softmax(M, N, true, true, 0.5f, policy, &mask, true);
    }
}

// ---------------------------------------------------------------- elementwise
// One fp32 multiply-add then the activation: the erf approximation is
// 1.5e-7 absolute and exp-based tanh/SiLU a few ulp, on inputs |v| <= ~6, so
// 2e-6 absolute + 1e-5 relative separates a right answer from any wrong
// activation or coefficient.
constexpr double kEwAtol = 2e-6, kEwRtol = 1e-5;

TEST(Elementwise, ActivationsShapesAndAliasing) {
  vk::Device& device = test_device();
  const ops::Act acts[] = {ops::Act::kNone, ops::Act::kGeluErf, ops::Act::kGeluTanh,
                           ops::Act::kSilu, ops::Act::kRelu, ops::Act::kTanh};
  for (int64_t M : kRows)
    for (int64_t N : {1, 7, 37, 1000})
      for (ops::Act act : acts)
        for (int mode = 0; mode < 3; ++mode) {  // 0: a+b, 1: a alone, 2: y aliases a
          auto a = testing::random_vector(M * N, 41, 3.0f);
          auto b = testing::random_vector(M * N, 42, 3.0f);
          Strided a_dev = Strided::make(a, M, N, 3);
          Strided b_dev = Strided::make(b, M, N, 4);
          Strided y_dev = Strided::make(std::vector<float>(M * N, 0.0f), M, N, 2);
          ops::ElementwiseArgs args;
          args.a = a_dev.view();
          if (mode != 1) args.b = b_dev.view();
          args.y = mode == 2 ? a_dev.view() : y_dev.view();
          args.M = M;
          args.N = N;
          args.alpha = mode == 1 ? 0.5f : 1.0f;
          args.beta = mode == 2 ? -0.75f : 1.0f;
          args.act = act;
          vk::CommandStream stream(device);
          ops::elementwise(stream, args);
          stream.finish();
          auto expected = reference::elementwise(a, mode != 1 ? &b : nullptr, args.alpha,
                                                 args.beta, act);
          EXPECT_CLOSE(expected, mode == 2 ? a_dev.dense() : y_dev.dense(), kEwAtol, kEwRtol)
              << "M=" << M << " N=" << N << " act=" << int(act) << " mode=" << mode;
        }
}

// ---------------------------------------------------------------- argmax
std::vector<uint32_t> run_argmax(const std::vector<float>& x, int64_t M, int64_t N,
                                 const ops::ReducePolicy& policy) {
  vk::Device& device = test_device();
  Strided x_dev = Strided::make(x, M, N, 3);
  vk::Buffer out = vk::Buffer::create(device, 4 * (M + 2), vk::MemoryKind::kDevice);
  vk::CommandStream stream(device);
  ops::argmax(stream, x_dev.view(), M, N, ops::View(out, 2, 1), policy);
  stream.finish();
  std::vector<uint32_t> ids(M + 2);
  device.download(out, 0, ids.data(), ids.size() * 4);
  return std::vector<uint32_t>(ids.begin() + 2, ids.end());
}

TEST(Argmax, OddShapesEveryReduction) {
  for (const auto& [name, policy] : reduce_variants())
    for (int64_t M : kRows)
      for (int64_t N : kCols) {
        SCOPED_TRACE(name);
        auto x = testing::random_vector(M * N, 51);
        EXPECT_EQ(reference::argmax(x, M, N), run_argmax(x, M, N, policy)) << "M=" << M << " N=" << N;
      }
}

TEST(Argmax, TiesNaNInfinityAndSignedZero) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const int64_t N = 1000;
  std::vector<std::vector<float>> rows;
  auto base = testing::random_vector(N, 52);
  auto tie = base;  // the max repeated at later indices, in other lanes
  tie[611] = 5.0f; tie[612] = 5.0f; tie[999] = 5.0f; tie[613 + 8] = 5.0f;
  rows.push_back(tie);
  auto with_nan = base;  // torch: the first NaN wins over any number
  with_nan[700] = nan; with_nan[300] = inf; with_nan[901] = nan;
  rows.push_back(with_nan);
  rows.push_back(std::vector<float>(N, -inf));  // all -inf: index 0
  std::vector<float> zeros(N, -1.0f);  // -0 and +0 tie: the first wins
  zeros[40] = -0.0f; zeros[41] = 0.0f; zeros[3] = -0.0f;
  rows.push_back(zeros);
  std::vector<float> x;
  for (const auto& r : rows) x.insert(x.end(), r.begin(), r.end());
  const std::vector<uint32_t> expected = {611, 700, 0, 3};
  ASSERT_EQ(reference::argmax(x, 4, N), expected);  // the reference itself is torch-like
  for (const auto& [name, policy] : reduce_variants()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(expected, run_argmax(x, 4, N, policy));
  }
}

}  // namespace
}  // namespace vkinfer
