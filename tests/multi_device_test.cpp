// Two logical devices on one physical device, each driven by its own thread,
// run ops at the same time and both return correct results. This is what
// lets tensor-parallel code be tested on one lavapipe.
#include <gtest/gtest.h>

#include <thread>

#include "engine/ops/matmul.h"
#include "tests/reference/matmul_ref.h"
#include "tests/support/compare.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

TEST(MultiDevice, TwoLogicalDevicesRunInParallel) {
  auto first = vk::Device::create(testing::test_instance(), 0);
  auto second = vk::Device::create(testing::test_instance(), 0);
  ASSERT_NE(first->handle(), second->handle());
  const int64_t M = 7, N = 53, K = 91;
  std::vector<std::vector<float>> results(2), expected(2);
  auto work = [&](vk::Device& device, int index) {
    auto x = testing::random_vector(M * K, 10 + index);
    auto w = testing::random_vector(N * K, 20 + index);
    expected[index] = reference::matmul(x, w, nullptr, nullptr, nullptr, M, N, K, ops::Act::kNone);
    Tensor x_dev = Tensor::create(device, M, K);
    x_dev.upload(device, x);
    Weight w_dev = create_weight_from_f32(device, DType::kF32, N, K, w);
    Tensor y = Tensor::create(device, M, N);
    vk::CommandStream stream(device);
    ops::MatmulArgs args;
    args.x = x_dev; args.M = M; args.weight = &w_dev; args.y = y;
    // Many repetitions so the two devices' work overlaps in time.
    for (int i = 0; i < 50; ++i) ops::matmul(stream, args, ops::choose_policy(device.info()).matmul);
    stream.finish();
    results[index] = y.download(device);
  };
  std::thread a(work, std::ref(*first), 0), b(work, std::ref(*second), 1);
  a.join();
  b.join();
  // Same bound and reason as tests/matmul_test.cpp.
  EXPECT_CLOSE(expected[0], results[0], 1e-4, 1e-4);
  EXPECT_CLOSE(expected[1], results[1], 1e-4, 1e-4);
}

}  // namespace
}  // namespace vkinfer
