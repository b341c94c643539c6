// Device faults: memory exhaustion gives kOutOfMemory with the sizes
// involved, a lost device gives kDeviceLost with a message that says what
// happened, and long recordings are cut into several submits (so a long
// prefill cannot trip a desktop GPU watchdog) without changing the result.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/ops/elementwise.h"
#include "engine/weights/tensor.h"
#include "engine/vk/check.h"
#include "engine/vk/command_stream.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

constexpr uint64_t kMiB = 1024ull * 1024ull;

// The memory requirements of a real buffer, resized: the memory type bits
// and alignment are the device's own.
VkMemoryRequirements requirements_of_size(vk::Device& device, uint64_t size) {
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = 4096;
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buffer = VK_NULL_HANDLE;
  VK_CHECK(vkCreateBuffer(device.handle(), &info, nullptr, &buffer));
  VkMemoryRequirements required{};
  vkGetBufferMemoryRequirements(device.handle(), buffer, &required);
  vkDestroyBuffer(device.handle(), buffer, nullptr);
  required.size = size;
  return required;
}

uint64_t heap_bytes(const vk::Device& device) { return device.info().device_local_heap_bytes(); }

// "1234.0 MiB" as the pool prints sizes.
std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / double(kMiB)); }

// A private device, so the memory these tests reserve is returned when they end.
std::unique_ptr<vk::Device> fresh_device() { return vk::Device::create(testing::test_instance(), 0); }

TEST(DeviceFault, AllocationLargerThanTheHeapIsOutOfMemoryWithSizes) {
  auto device = fresh_device();
  const uint64_t too_big = heap_bytes(*device) + 64 * kMiB;
  try {
    device->memory_pool().allocate(requirements_of_size(*device, too_big), VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    FAIL() << "allocating " << too_big << " bytes on a " << heap_bytes(*device) << "-byte heap succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory) << e.what();
    EXPECT_NE(std::string(e.what()).find(mib(too_big)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HINT"), std::string::npos) << e.what();
  }
}

TEST(DeviceFault, ExhaustingTheHeapIsOutOfMemoryWithSizes) {
  auto device = fresh_device();
  const uint64_t heap = heap_bytes(*device);
  // Each request fits the heap and the per-allocation limit on its own; the
  // second does not fit next to the first. 60% keeps the first well inside
  // maxMemoryAllocationSize even where that equals the heap (lavapipe).
  const uint64_t chunk = std::min<uint64_t>(heap / 10 * 6, device->info().max_memory_allocation_size) / kMiB * kMiB;
  vk::MemoryPool& pool = device->memory_pool();
  const vk::Allocation first = pool.allocate(requirements_of_size(*device, chunk), VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
  try {
    pool.allocate(requirements_of_size(*device, chunk), VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
    FAIL() << "two allocations of " << chunk << " bytes fit a " << heap << "-byte heap";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory) << e.what();
    const std::string message = e.what();
    EXPECT_NE(message.find("asked for " + mib(chunk)), std::string::npos) << message;
    EXPECT_NE(message.find("of a " + mib(heap) + " heap"), std::string::npos) << message;
  }
  pool.free(first);
}

TEST(DeviceFault, ActivationPastTheBindingLimitIsOutOfMemory) {
  vk::Device& device = test_device();
  const int64_t cols = 1 << 20;
  const int64_t rows = static_cast<int64_t>(device.info().max_storage_buffer_range / (4 * cols)) + 1;
  try {
    Tensor::create(device, rows, cols);
    FAIL() << "a [" << rows << ", " << cols << "] activation was created";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory) << e.what();
    EXPECT_NE(std::string(e.what()).find(fmt::format("[{}, {}]", rows, cols)), std::string::npos) << e.what();
  }
}

// Unit test of the VkResult mapping: a real device loss cannot be provoked
// on purpose without hurting the machine.
TEST(DeviceFault, DeviceLostMapsToItsOwnCodeAndSaysWhatHappened) {
  try {
    vk::throw_vk_error(VK_ERROR_DEVICE_LOST, "vkQueueSubmit(queue, 1, &submit, fence)", "engine/vk/device.cpp", 42);
    FAIL() << "throw_vk_error returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kDeviceLost);
    const std::string message = e.what();
    EXPECT_NE(message.find("device was lost"), std::string::npos) << message;
    EXPECT_NE(message.find("vkQueueSubmit"), std::string::npos) << message;
    EXPECT_NE(message.find("engine/vk/device.cpp:42"), std::string::npos) << message;
    EXPECT_NE(message.find("HINT"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
  }
}

TEST(DeviceFault, VkCheckCarriesTheResultName) {
  auto failing = [] { return VK_ERROR_OUT_OF_DEVICE_MEMORY; };
  try {
    VK_CHECK(failing());
    FAIL() << "VK_CHECK let an error through";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kOutOfMemory);
    EXPECT_NE(std::string(e.what()).find("VK_ERROR_OUT_OF_DEVICE_MEMORY"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("failing()"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::string(vk::result_name(VK_ERROR_DEVICE_LOST)), "VK_ERROR_DEVICE_LOST");
}

// x_{i+1} = x_i + d over 20 dispatches that each read the previous one's
// output: a split in the wrong place (dropping a barrier or a dispatch, or
// reordering submits) changes the sum.
TEST(DeviceFault, LongRecordingIsSplitIntoSeveralSubmits) {
  vk::Device& device = test_device();
  constexpr int kSteps = 20;
  constexpr uint32_t kPerSubmit = 3;
  const int64_t M = 3, N = 37;  // odd, so no workgroup size divides it
  std::vector<float> x0(M * N), d(M * N);
  for (int64_t i = 0; i < M * N; ++i) {
    x0[i] = static_cast<float>(i % 11) - 5.0f;
    d[i] = 0.25f * static_cast<float>(i % 7);  // multiples of 1/4: every sum is exact in fp32
  }
  Tensor x = Tensor::create(device, M, N), delta = Tensor::create(device, M, N);
  x.upload(device, x0);
  delta.upload(device, d);

  vk::CommandStream stream(device, vk::StreamOptions{.max_dispatches_per_submit = kPerSubmit});
  for (int step = 0; step < kSteps; ++step) {
    ops::ElementwiseArgs args;
    args.a = x;
    args.b = delta;
    args.y = x;  // in place: each step depends on the last
    args.M = M;
    args.N = N;
    ops::elementwise(stream, args);
  }
  stream.finish();
  EXPECT_EQ(stream.dispatch_count(), static_cast<uint32_t>(kSteps));
  // ceil(20 / 3) = 7 submits; at least more than one is the contract.
  EXPECT_GT(stream.submit_count(), 1u);
  EXPECT_GE(stream.submit_count(), (kSteps + kPerSubmit - 1) / kPerSubmit);

  const std::vector<float> got = x.download(device);
  for (int64_t i = 0; i < M * N; ++i) {
    // Exact: small multiples of 1/4 add without rounding in fp32.
    ASSERT_EQ(got[i], x0[i] + kSteps * d[i]) << "element " << i;
  }
}

TEST(DeviceFault, DefaultStreamStaysInOneSubmit) {
  vk::Device& device = test_device();
  Tensor x = Tensor::create(device, 1, 8);
  x.upload(device, std::vector<float>(8, 1.0f));
  vk::CommandStream stream(device);
  for (int step = 0; step < 20; ++step) {
    ops::ElementwiseArgs args;
    args.a = x;
    args.y = x;
    args.alpha = 2.0f;
    args.M = 1;
    args.N = 8;
    ops::elementwise(stream, args);
  }
  stream.finish();
  EXPECT_EQ(stream.submit_count(), 1u);
  EXPECT_EQ(x.download(device), std::vector<float>(8, 1048576.0f));  // 2^20, exact
}

}  // namespace
}  // namespace vkinfer
