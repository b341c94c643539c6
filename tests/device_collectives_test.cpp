// Device-side collectives on logical devices (one lavapipe standing in for
// four GPUs, as in multi_device_test.cpp): the tp all-reduce of a device
// region and the send/recv of a region between pipeline stages, both in
// place (unified memory) and through the staging buffer that discrete GPUs
// use (forced here). The data comes from work recorded on the stream just
// before each call and is read by work recorded just after, so the tests
// also check that a call orders itself with the stream.
#include <gtest/gtest.h>

#include <cstring>
#include <mutex>

#include "engine/parallel/device_collectives.h"
#include "partition/ranks.h"
#include "tests/support/expect_error.h"

namespace vkinfer {
namespace {

uint32_t bits(float value) {
  uint32_t out;
  std::memcpy(&out, &value, 4);
  return out;
}

std::vector<float> download(vk::Device& device, const vk::Buffer& buffer) {
  std::vector<float> out(buffer.size() / 4);
  device.download(buffer, 0, out.data(), buffer.size());
  return out;
}

class DeviceCollectivesTest : public ::testing::TestWithParam<bool> {};

TEST_P(DeviceCollectivesTest, AllReduceWithinTpGroupsOfATwoByTwoWorld) {
  const bool force_staging = GetParam();
  RankOptions options;
  options.tp = 2;
  options.pp = 2;
  options.devices.assign(4, 0);
  // 37 floats of a 64-float buffer, from float 11 on: offsets and an odd
  // count; the rest of the buffer must stay untouched.
  const size_t count = 37, offset = 11, size = 64;
  std::mutex mutex;
  std::vector<std::vector<float>> results(4);
  std::vector<bool> staged(4);
  run_ranks(options, [&](RankContext& rank) {
    vk::Device& device = rank.device;
    DeviceCollectives collectives(device, rank.comm, count * 4, {force_staging});
    vk::Buffer buffer = vk::Buffer::create(device, size * 4, vk::MemoryKind::kDevice);
    vk::Buffer after = vk::Buffer::create(device, size * 4, vk::MemoryKind::kDevice);
    const int r = rank.world.rank();
    vk::CommandStream stream(device);
    for (int round = 0; round < 3; ++round) {
      // Recorded, not yet run: all_reduce must run it first.
      stream.fill(buffer, 0, size * 4, bits(-1.0f));
      stream.fill(buffer, offset * 4, count * 4, bits(float(r + 1 + round)));
      collectives.all_reduce(stream, buffer, offset * 4, count);
      // Recorded after: must see the sums (the staged copy back included).
      stream.copy(buffer, 0, after, 0, size * 4);
      stream.finish();
    }
    std::lock_guard<std::mutex> lock(mutex);
    results[r] = download(device, after);
    staged[r] = collectives.staged();
  });
  const Topology t = Topology::make(2, 2);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(staged[r], force_staging);
    const RankCoord c = t.coord(r);
    // Last round (2): ranks a, b of the stage hold a+1+2 and b+1+2.
    const float sum = float(t.rank({0, c.stage, 0}) + t.rank({0, c.stage, 1}) + 2 * 3);
    for (size_t i = 0; i < size; ++i) {
      const float want = i >= offset && i < offset + count ? sum : -1.0f;
      ASSERT_EQ(results[r][i], want) << "rank " << r << " float " << i;
    }
  }
}

TEST_P(DeviceCollectivesTest, SendRecvARegionBetweenStages) {
  const bool force_staging = GetParam();
  RankOptions options;
  options.tp = 2;
  options.pp = 2;
  options.devices.assign(4, 0);
  const size_t count = 29, size = 48;
  std::mutex mutex;
  std::vector<std::vector<float>> results(4);
  run_ranks(options, [&](RankContext& rank) {
    vk::Device& device = rank.device;
    DeviceCollectives stages(device, rank.pp, count * 4, {force_staging});
    EXPECT_EQ(stages.staged(), force_staging);
    vk::Buffer buffer = vk::Buffer::create(device, size * 4, vk::MemoryKind::kDevice);
    vk::Buffer after = vk::Buffer::create(device, size * 4, vk::MemoryKind::kDevice);
    vk::CommandStream stream(device);
    stream.fill(buffer, 0, size * 4, bits(-1.0f));
    if (rank.coord.stage == 0) {
      // Stage 0 sends floats [3, 32) to the same tp_rank of stage 1, which
      // receives them at [16, 45).
      stream.fill(buffer, 3 * 4, count * 4, bits(float(10 + rank.coord.tp_rank)));
      stages.send(stream, buffer, 3 * 4, count * 4, 1, 5);
    } else {
      stages.recv(stream, buffer, 16 * 4, count * 4, 0, 5);
    }
    stream.copy(buffer, 0, after, 0, size * 4);
    stream.finish();
    std::lock_guard<std::mutex> lock(mutex);
    results[rank.world.rank()] = download(device, after);
  });
  for (int tp_rank = 0; tp_rank < 2; ++tp_rank) {
    const std::vector<float>& got = results[2 + tp_rank];  // stage 1
    for (size_t i = 0; i < size; ++i) {
      const float want = i >= 16 && i < 16 + count ? float(10 + tp_rank) : -1.0f;
      ASSERT_EQ(got[i], want) << "stage 1 tp_rank " << tp_rank << " float " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, DeviceCollectivesTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "staged" : "in_place"; });

TEST(DeviceCollectives, OneRankIsANoOpAndOversizedCallsFail) {
  RankOptions options;
  options.tp = 2;
  options.devices.assign(2, 0);
  run_ranks(options, [&](RankContext& rank) {
    vk::Buffer buffer = vk::Buffer::create(rank.device, 64, vk::MemoryKind::kDevice);
    vk::CommandStream stream(rank.device);
    auto single = make_single_communicator();
    DeviceCollectives alone(rank.device, *single, 64, {true});
    EXPECT_FALSE(alone.staged());  // nothing to stage at world 1
    alone.all_reduce(stream, buffer, 0, 16);
    DeviceCollectives pair(rank.device, rank.comm, 32);
    // Planned for 32 bytes at load; 64 is a bug in the caller, not a hang.
    testing::expect_error([&] { pair.all_reduce(stream, buffer, 0, 16); }, ErrorCode::kInternal,
                          {"exceeds the 32 bytes planned"});
    testing::expect_error([&] { pair.all_reduce(stream, buffer, 48, 8); }, ErrorCode::kInternal,
                          {"overflows a 64-byte buffer"});
  });
}

}  // namespace
}  // namespace vkinfer
