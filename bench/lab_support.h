// What the kernel labs share: their device, the timed loop and main().
#pragma once

#include <benchmark/benchmark.h>

#include <memory>

#include "engine/vk/command_stream.h"
#include "engine/vk/device.h"
#include "engine/vk/instance.h"

namespace vkinfer::lab {

// Timings are taken without the validation layer (VKINFER_VALIDATION=1 turns
// it on): on a CPU driver its bookkeeping threads compete with the threads
// that run the shaders.
inline vk::Device& lab_device() {
  static std::unique_ptr<vk::Instance> instance = vk::Instance::create({});
  static std::unique_ptr<vk::Device> device = vk::Device::create(*instance, 0);
  return *device;
}

// Runs `record` (which records the op into `stream`) once per benchmark
// iteration, reports each iteration's GPU time from the stream's timestamps
// and returns their sum in ns.
template <typename Record>
double time_on_gpu(benchmark::State& state, vk::CommandStream& stream, Record record) {
  double total_ns = 0;
  for (auto _ : state) {
    record();
    stream.finish();
    double ns = 0;
    for (const auto& t : stream.timings()) ns += t.ns;
    state.SetIterationTime(ns * 1e-9);
    total_ns += ns;
  }
  return total_ns;
}

inline int run_main(int argc, char** argv, void (*register_all)()) {
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace vkinfer::lab
