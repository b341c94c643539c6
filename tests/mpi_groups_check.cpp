// The per-axis groups and send/recv under mpirun (one process per rank):
// `mpirun -np 4 mpi_groups_check` runs a tp 2 x pp 2 world through
// run_ranks and checks, on every rank, the group sizes and ranks, host
// all-reduces within tp and pp groups, a pipeline send/recv chain, and the
// device all-reduce and send/recv (in place and staged). Rank 0 prints
// "mpi groups ok"; any mismatch throws, which aborts every rank.
// Not a GoogleTest binary: gtest's runner does not belong under mpirun.
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "engine/core/error.h"
#include "engine/parallel/device_collectives.h"
#include "partition/ranks.h"

namespace vkinfer {
namespace {

void expect(bool ok, int rank, const char* what) {
  if (!ok) fail(ErrorCode::kInternal, "rank {}: {}", rank, what);
}

uint32_t bits(float value) {
  uint32_t out;
  std::memcpy(&out, &value, 4);
  return out;
}

void check_rank(RankContext& rank) {
  const Topology& t = rank.topology;
  const int r = rank.world.rank();
  const RankCoord c = rank.coord;
  expect(rank.world.world() == 4 && t.coord(r) == c, r, "world and coordinate");
  expect(rank.comm.world() == 2 && rank.comm.rank() == c.tp_rank, r, "tp group");
  expect(rank.pp.world() == 2 && rank.pp.rank() == c.stage, r, "pp group");

  // Host all-reduce within the stage's tp group.
  std::vector<float> data(5);
  for (size_t i = 0; i < data.size(); ++i) data[i] = float(100 * r + i);
  rank.comm.all_reduce_sum(data.data(), data.size());
  const int a = t.rank({0, c.stage, 0}), b = t.rank({0, c.stage, 1});
  for (size_t i = 0; i < data.size(); ++i)
    expect(data[i] == float(100 * (a + b) + 2 * i), r, "tp all_reduce sum");

  // Host send/recv from stage 0 to stage 1, then a reply.
  int32_t message[3] = {r, 7, -1};
  if (c.stage == 0) {
    rank.pp.send(message, sizeof(message), 1, 11);
    int32_t reply = 0;
    rank.pp.recv(&reply, 4, 1, 12);
    expect(reply == 1000 + r, r, "reply from stage 1");
  } else {
    rank.pp.recv(message, sizeof(message), 0, 11);
    expect(message[0] == t.rank({0, 0, c.tp_rank}) && message[1] == 7, r, "message from stage 0");
    const int32_t reply = 1000 + message[0];
    rank.pp.send(&reply, 4, 0, 12);
  }

  // Device collectives, in place then staged.
  for (bool staged : {false, true}) {
    const size_t count = 19, size = 32;
    DeviceCollectives tp(rank.device, rank.comm, count * 4, {staged});
    DeviceCollectives pp(rank.device, rank.pp, count * 4, {staged});
    vk::Buffer buffer = vk::Buffer::create(rank.device, size * 4, vk::MemoryKind::kDevice);
    vk::CommandStream stream(rank.device);
    stream.fill(buffer, 0, size * 4, bits(float(r + 1)));
    tp.all_reduce(stream, buffer, 4, count);
    stream.finish();
    std::vector<float> got(size);
    rank.device.download(buffer, 0, got.data(), size * 4);
    for (size_t i = 0; i < size; ++i)
      expect(got[i] == (i >= 1 && i < 1 + count ? float(a + b + 2) : float(r + 1)), r,
             "device all_reduce");
    if (c.stage == 0) pp.send(stream, buffer, 4, count * 4, 1, 13);
    else pp.recv(stream, buffer, 8, count * 4, 0, 13);
    stream.finish();
    rank.device.download(buffer, 0, got.data(), size * 4);
    if (c.stage == 1) {
      const int a0 = t.rank({0, 0, 0}), b0 = t.rank({0, 0, 1});
      for (size_t i = 2; i < 2 + count; ++i)
        expect(got[i] == float(a0 + b0 + 2), r, "device recv from stage 0");
    }
  }
  rank.world.barrier();
}

}  // namespace
}  // namespace vkinfer

int main() {
  using namespace vkinfer;
  try {
    RankOptions options;
    options.tp = 2;
    options.pp = 2;
    if (run_ranks(options, check_rank)) std::printf("mpi groups ok\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mpi_groups_check: %s\n", e.what());
    return 1;
  }
}
