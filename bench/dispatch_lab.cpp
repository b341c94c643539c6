// Kernel lab for the fixed cost of a dispatch: how long a batch of tiny ops
// takes per op, in wall time from submit to fence, with every op depending
// on the one before (a decoder layer's chain) or all independent, and for
// one matmul whose weights are a few rows (its bindings and texel views,
// almost no work). This is the number that decides how far small ops must be
// fused: on lavapipe it is tens of microseconds, a GPT-2 decode step's worth
// of weights at 11 GB/s takes ~22 ms, and a step has ~100 dispatches.
#include <benchmark/benchmark.h>

#include <chrono>

#include "bench/lab_support.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "tests/support/compare.h"

namespace vkinfer {
namespace {

using lab::lab_device;
constexpr int kOpsPerBatch = 100;

// `record(i)` records the i-th op of the batch. An iteration is one batch;
// the `us_per_op` counter is its wall time per op.
template <typename Record>
void time_batches(benchmark::State& state, Record record) {
  vk::Device& device = lab_device();
  vk::CommandStream stream(device);
  for (int i = 0; i < kOpsPerBatch; ++i) record(stream, i);  // warm-up: pipeline compiles
  stream.finish();
  double total_seconds = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kOpsPerBatch; ++i) record(stream, i);
    stream.finish();
    std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
    state.SetIterationTime(seconds.count());
    total_seconds += seconds.count();
  }
  state.counters["us_per_op"] = total_seconds * 1e6 / (double(state.iterations()) * kOpsPerBatch);
}

// One row per op of a batch and one more: op i reads row i (or row 0) and
// writes row i + 1.
std::vector<Tensor> chain_rows(vk::Device& device, int64_t width) {
  std::vector<Tensor> rows;
  for (int i = 0; i < kOpsPerBatch + 1; ++i) {
    rows.push_back(Tensor::create(device, 1, width));
    rows.back().upload(device, testing::random_vector(width, i));
  }
  return rows;
}

void elementwise_chain(benchmark::State& state, bool dependent) {
  vk::Device& device = lab_device();
  const int64_t width = 768;
  std::vector<Tensor> rows = chain_rows(device, width);
  time_batches(state, [&](vk::CommandStream& stream, int i) {
    ops::ElementwiseArgs args;
    // Dependent: each op reads the row the previous one wrote.
    args.a = dependent ? rows[i] : rows[0];
    args.y = rows[i + 1];
    args.M = 1;
    args.N = width;
    args.alpha = 0.5f;
    ops::elementwise(stream, args);
  });
}

void small_matmul_chain(benchmark::State& state, DType dtype) {
  vk::Device& device = lab_device();
  const int64_t width = 768;
  Weight w = create_weight_from_f32(device, dtype, width, width, testing::random_vector(width * width, 1, 0.05f));
  std::vector<Tensor> rows = chain_rows(device, width);
  const ops::MatmulPolicy policy = ops::choose_policy(device.info()).matmul;
  time_batches(state, [&](vk::CommandStream& stream, int i) {
    ops::MatmulArgs args;
    args.x = rows[i];
    args.M = 1;
    args.weight = &w;
    args.n_begin = 0;
    args.n_end = 8;  // eight output columns: the op's fixed cost, not its bandwidth
    args.y = rows[i + 1];
    ops::matmul(stream, args, policy, ops::MatmulKind::kAuto);
  });
}

void register_all() {
  auto add = [](const char* name, auto fn, auto arg) {
    benchmark::RegisterBenchmark(name, fn, arg)->UseManualTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);
  };
  add("dispatch/elementwise_dependent", elementwise_chain, true);
  add("dispatch/elementwise_independent", elementwise_chain, false);
  add("dispatch/matmul_8x768_f16_dependent", small_matmul_chain, DType::kF16);
  add("dispatch/matmul_8x768_f32_dependent", small_matmul_chain, DType::kF32);
}

}  // namespace
}  // namespace vkinfer

int main(int argc, char** argv) {
  return vkinfer::lab::run_main(argc, argv, vkinfer::register_all);
}
