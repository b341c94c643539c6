// Kernel lab for matmul: every variant (GEMV/GEMM x fp32/fp16 x storage/
// texel x subgroup/shared) checked against the reference on a small shape,
// then timed on GPU timestamps at model shapes. Reports GB/s of weights
// (GEMV) and GFLOPS (GEMM) as benchmark counters. GGUF block formats get a
// row per format at the GPT-2 shapes with the device's own policy
// ("blocks/..."), their GB/s counting the block bytes they read.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "bench/lab_support.h"
#include "engine/io/ggml_dequantize.h"
#include "engine/ops/matmul.h"
#include "engine/weights/block_formats.h"
#include "engine/weights/quantize.h"
#include "tests/reference/matmul_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using lab::lab_device;

struct Variant {
  std::string name;
  ops::KernelPolicy policy;
};

std::vector<Variant> variants() {
  std::vector<Variant> out;
  for (auto& [name, policy] : testing::all_policies(lab_device().info())) out.push_back({name, policy});
  // GEMM tile shapes (local n x local m, outputs tile_m x tile_n per invocation).
  const ops::KernelPolicy base = ops::choose_policy(lab_device().info());
  for (auto [local_n, local_m, tile_m, tile_n] :
       std::vector<std::array<uint32_t, 4>>{{8, 1, 4, 4}, {8, 1, 8, 2}, {8, 1, 16, 2}, {32, 1, 8, 4},
                                            {8, 4, 8, 4}, {8, 1, 4, 8}}) {
    ops::KernelPolicy policy = base;
    policy.matmul.tile_local_n = local_n;
    policy.matmul.tile_local_m = local_m;
    policy.matmul.tile_m = tile_m;
    policy.matmul.tile_n = tile_n;
    out.push_back({"tile_" + std::to_string(local_n) + "x" + std::to_string(local_m) + "_" +
                       std::to_string(tile_m) + "x" + std::to_string(tile_n),
                   policy});
  }
  return out;
}

// On a small shape with the timed shape's M (up to 19), so the kernel and
// specialization validated are the ones timed.
bool validate(const ops::KernelPolicy& policy, DType dtype, ops::MatmulKind kind, int64_t timed_m) {
  vk::Device& device = lab_device();
  const int64_t M = std::min<int64_t>(timed_m, 19), N = 37, K = 70;
  auto x = testing::random_vector(M * K, 1), w = testing::random_vector(N * K, 2);
  auto w_ref = dtype == DType::kF16 ? reference::round_to_f16(w) : w;
  Tensor x_dev = Tensor::create(device, M, K);
  x_dev.upload(device, x);
  Weight w_dev = create_weight_from_f32(device, dtype, N, K, w);
  Tensor y = Tensor::create(device, M, N);
  ops::MatmulArgs args;
  args.x = x_dev; args.M = M; args.weight = &w_dev; args.y = y;
  vk::CommandStream stream(device);
  ops::matmul(stream, args, policy.matmul, kind);
  stream.finish();
  auto expected = reference::matmul(x, w_ref, nullptr, nullptr, nullptr, M, N, K, ops::Act::kNone);
  auto got = y.download(device);
  for (size_t i = 0; i < got.size(); ++i)
    if (std::fabs(got[i] - expected[i]) > 1e-3) return false;
  return true;
}

void run(benchmark::State& state, Variant variant, DType dtype, ops::MatmulKind kind, int64_t M,
         int64_t N, int64_t K) {
  if (!validate(variant.policy, dtype, kind, M)) {
    state.SkipWithError("variant disagrees with the reference");
    return;
  }
  vk::Device& device = lab_device();
  Tensor x = Tensor::create(device, M, K);
  x.upload(device, testing::random_vector(M * K, 3));
  Weight w = create_weight_from_f32(device, dtype, N, K, testing::random_vector(N * K, 4, 0.05f));
  Tensor y = Tensor::create(device, M, N);
  ops::MatmulArgs args;
  args.x = x; args.M = M; args.weight = &w; args.y = y;
  vk::CommandStream stream(device, {.profile = true});
  // Untimed warm-up: drivers may compile the pipeline at its first dispatch.
  ops::matmul(stream, args, variant.policy.matmul, kind);
  stream.finish();
  const double total_ns = lab::time_on_gpu(
      state, stream, [&] { ops::matmul(stream, args, variant.policy.matmul, kind); });
  const double iterations = static_cast<double>(state.iterations());
  state.counters["GB/s"] = double(N) * K * dtype_size(dtype) * iterations / total_ns;
  state.counters["GFLOPS"] = 2.0 * M * N * K * iterations / total_ns;
}

// A block-format weight of random values quantized by the host quantizer,
// and its dequantization (the reference's weights).
Weight block_weight(GgmlType type, int64_t N, int64_t K, uint32_t seed, std::vector<float>* dequantized) {
  const std::vector<float> values = testing::random_vector(N * K, seed, 0.05f);
  const std::vector<uint8_t> blocks = quantize_rows(type, values, N, K);
  if (dequantized) *dequantized = dequantize(type, blocks, N * K);
  const uint64_t row_bytes = weight_format(type).row_bytes(K);
  return create_weight(lab_device(), weight_format(type), N, K,
                       [&](int64_t begin, int64_t count, void* dst, int64_t) {
                         std::copy_n(blocks.data() + begin * row_bytes, count * row_bytes,
                                     static_cast<uint8_t*>(dst));
                       });
}

void run_blocks(benchmark::State& state, GgmlType type, ops::MatmulKind kind, int64_t M, int64_t N, int64_t K) {
  vk::Device& device = lab_device();
  const ops::KernelPolicy policy = testing::test_policy();
  std::vector<float> w_ref;
  Weight w = block_weight(type, N, K, 4, &w_ref);
  const std::vector<float> x_host = testing::random_vector(M * K, 3);
  Tensor x = Tensor::create(device, M, K);
  x.upload(device, x_host);
  Tensor y = Tensor::create(device, M, N);
  ops::MatmulArgs args;
  args.x = x; args.M = M; args.weight = &w; args.y = y;
  vk::CommandStream stream(device, {.profile = true});
  ops::matmul(stream, args, policy.matmul, kind);
  stream.finish();
  // Checked at the timed shape: sums of K <= 3072 products of O(0.05).
  const auto expected = reference::matmul(x_host, w_ref, nullptr, nullptr, nullptr, M, N, K, ops::Act::kNone);
  const auto got = y.download(device);
  for (size_t i = 0; i < got.size(); ++i)
    if (std::fabs(got[i] - expected[i]) > 1e-3 + 1e-3 * std::fabs(expected[i])) {
      state.SkipWithError("block kernel disagrees with the reference");
      return;
    }
  const double total_ns = lab::time_on_gpu(state, stream, [&] { ops::matmul(stream, args, policy.matmul, kind); });
  const double iterations = static_cast<double>(state.iterations());
  state.counters["GB/s"] = double(N) * weight_format(type).row_bytes(K) * iterations / total_ns;
  state.counters["GFLOPS"] = 2.0 * M * N * K * iterations / total_ns;
}

void register_blocks() {
  struct Shape { const char* name; int64_t M, N, K; ops::MatmulKind kind; };
  const Shape shapes[] = {
      {"gemv_768x3072", 1, 3072, 768, ops::MatmulKind::kAuto},
      {"gemv_3072x768", 1, 768, 3072, ops::MatmulKind::kAuto},
      {"gemm_128x3072x768", 128, 3072, 768, ops::MatmulKind::kTiled},
  };
  for (GgmlType type : {GgmlType::kF16, GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0,
                        GgmlType::kQ5_1, GgmlType::kQ4_K, GgmlType::kQ6_K})
    for (const Shape& s : shapes) {
      const std::string name = std::string("blocks/") + s.name + "/" + weight_format(type).name;
      benchmark::RegisterBenchmark(name.c_str(), run_blocks, type, s.kind, s.M, s.N, s.K)
          ->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(0.2);
    }
}

void register_all() {
  register_blocks();
  struct Shape { const char* name; int64_t M, N, K; ops::MatmulKind kind; };
  const Shape shapes[] = {
      // GPT-2-124M decode: qkv, attention out, MLP up, MLP down, LM head; the
      // kernel is the device policy's choice for the shape.
      {"gemv_768x2304", 1, 2304, 768, ops::MatmulKind::kAuto},
      {"gemv_768x768", 1, 768, 768, ops::MatmulKind::kAuto},
      {"gemv_768x3072", 1, 3072, 768, ops::MatmulKind::kAuto},
      {"gemv_3072x768", 1, 768, 3072, ops::MatmulKind::kAuto},
      {"gemv_768x50257", 1, 50257, 768, ops::MatmulKind::kAuto},
      // K sweep at fixed N, GEMV kernel (kgemv) against the tiled kernel with
      // one row (tkgemv): time ~ a + b*K separates per-row from per-byte cost.
      {"kgemv_8x8192", 1, 8192, 8, ops::MatmulKind::kVec},
      {"kgemv_256x8192", 1, 8192, 256, ops::MatmulKind::kVec},
      {"kgemv_768x8192", 1, 8192, 768, ops::MatmulKind::kVec},
      {"kgemv_1536x8192", 1, 8192, 1536, ops::MatmulKind::kVec},
      {"kgemv_3072x8192", 1, 8192, 3072, ops::MatmulKind::kVec},
      {"tkgemv_8x8192", 1, 8192, 8, ops::MatmulKind::kTiled},
      {"tkgemv_256x8192", 1, 8192, 256, ops::MatmulKind::kTiled},
      {"tkgemv_768x8192", 1, 8192, 768, ops::MatmulKind::kTiled},
      {"tkgemv_1536x8192", 1, 8192, 1536, ops::MatmulKind::kTiled},
      {"tkgemv_3072x8192", 1, 8192, 3072, ops::MatmulKind::kTiled},
      {"gemv_4096x4096", 1, 4096, 4096, ops::MatmulKind::kVec},
      {"gemm_128x3072x768", 128, 3072, 768, ops::MatmulKind::kTiled},
      {"gemm_512x4096x4096", 512, 4096, 4096, ops::MatmulKind::kTiled},
      // A server's decode step of 2, 4, 8 and 16 streams (MLP up): the
      // policy's kernel for each M, so the cost per stream shows.
      {"streams_2x3072x768", 2, 3072, 768, ops::MatmulKind::kAuto},
      {"streams_4x3072x768", 4, 3072, 768, ops::MatmulKind::kAuto},
      {"streams_8x3072x768", 8, 3072, 768, ops::MatmulKind::kAuto},
      {"streams_16x3072x768", 16, 3072, 768, ops::MatmulKind::kAuto},
  };
  for (const Variant& variant : variants())
    for (DType dtype : {DType::kF32, DType::kF16})
      for (const Shape& s : shapes) {
        std::string name = std::string(s.name) + "/" + (dtype == DType::kF16 ? "f16/" : "f32/") + variant.name;
        benchmark::RegisterBenchmark(name.c_str(), run, variant, dtype, s.kind, s.M, s.N, s.K)
            ->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(0.2);
      }
}

}  // namespace
}  // namespace vkinfer

int main(int argc, char** argv) {
  return vkinfer::lab::run_main(argc, argv, vkinfer::register_all);
}
