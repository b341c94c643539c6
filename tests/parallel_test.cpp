// The parallel layer without a GPU: the topology's rank <-> coordinate
// mapping and its errors, the pipeline stage plan, and the host-staged
// communicators' per-axis groups (all-reduce within tp groups, send/recv
// between stages, an abort waking peers blocked in other groups).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "engine/parallel/communicator.h"
#include "engine/parallel/plan.h"
#include "engine/parallel/topology.h"
#include "tests/support/expect_error.h"

namespace vkinfer {
namespace {

using testing::expect_error;

TEST(Topology, MapsRanksToCoordinatesAndBack) {
  const Topology t = Topology::make(2, 3, 2);
  EXPECT_EQ(t.world(), 12);
  // tp innermost, then stage, then replica.
  EXPECT_EQ(t.coord(0), (RankCoord{0, 0, 0}));
  EXPECT_EQ(t.coord(1), (RankCoord{0, 0, 1}));
  EXPECT_EQ(t.coord(2), (RankCoord{0, 1, 0}));
  EXPECT_EQ(t.coord(5), (RankCoord{0, 2, 1}));
  EXPECT_EQ(t.coord(6), (RankCoord{1, 0, 0}));
  EXPECT_EQ(t.coord(11), (RankCoord{1, 2, 1}));
  for (int r = 0; r < t.world(); ++r) EXPECT_EQ(t.rank(t.coord(r)), r);
  EXPECT_TRUE(t.first_stage(7));
  EXPECT_TRUE(t.last_stage(10));
  EXPECT_FALSE(t.last_stage(3));
}

TEST(Topology, RejectsBadDegreesAndWorlds) {
  expect_error([] { Topology::make(0); }, ErrorCode::kInvalidArgument, {"--tp", ">= 1", "0"});
  expect_error([] { Topology::make(2, -1); }, ErrorCode::kInvalidArgument, {"--pp", "-1"});
  expect_error([] { Topology::make(2, 1, 0); }, ErrorCode::kInvalidArgument, {"--dp"});
  expect_error([] { Topology::make(2, 2).check_world(3); }, ErrorCode::kInvalidArgument,
               {"tp=2 pp=2", "needs 4 ranks", "3 were started", "mpirun -np 4"});
  Topology::make(2, 2).check_world(4);
  const Topology t = Topology::make(2, 2);
  expect_error([&] { t.coord(4); }, ErrorCode::kInvalidArgument, {"rank 4", "4 ranks"});
  expect_error([&] { t.rank({0, 2, 0}); }, ErrorCode::kInvalidArgument, {"stage 2"});
}

void expect_stages(const std::vector<StageRange>& stages,
                   const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  ASSERT_EQ(stages.size(), ranges.size());
  for (size_t i = 0; i < stages.size(); ++i) {
    EXPECT_EQ(stages[i].first_layer, ranges[i].first) << "stage " << i;
    EXPECT_EQ(stages[i].end_layer, ranges[i].second) << "stage " << i;
    EXPECT_EQ(stages[i].has_embedding, i == 0) << "stage " << i;
    EXPECT_EQ(stages[i].has_head, i + 1 == stages.size()) << "stage " << i;
  }
}

TEST(StagePlan, EvenSplitGivesTheRemainderToLaterStages) {
  expect_stages(plan_stages(12, 1), {{0, 12}});
  expect_stages(plan_stages(12, 4), {{0, 3}, {3, 6}, {6, 9}, {9, 12}});
  // 10 = 2 + 2 + 3 + 3 (NxD: the last stages take one more each).
  expect_stages(plan_stages(10, 4), {{0, 2}, {2, 4}, {4, 7}, {7, 10}});
  expect_stages(plan_stages(3, 3), {{0, 1}, {1, 2}, {2, 3}});
  EXPECT_EQ(plan_stages(7, 2)[1].layers(), 4);
  expect_error([] { plan_stages(3, 4); }, ErrorCode::kInvalidArgument,
               {"--pp 4", "3 layers", "at most 3"});
  expect_error([] { plan_stages(3, 0); }, ErrorCode::kInvalidArgument, {"--pp"});
}

TEST(StagePlan, ExplicitCutsAreValidated) {
  expect_stages(plan_stages(8, std::vector<int64_t>{}), {{0, 8}});
  expect_stages(plan_stages(8, {1, 5}), {{0, 1}, {1, 5}, {5, 8}});
  expect_error([] { plan_stages(8, {0, 4}); }, ErrorCode::kInvalidArgument, {"cut 1", "[1, 7]"});
  expect_error([] { plan_stages(8, {4, 8}); }, ErrorCode::kInvalidArgument, {"cut 2", "layer 8"});
  expect_error([] { plan_stages(8, {5, 3}); }, ErrorCode::kInvalidArgument,
               {"strictly increasing", "layer 3"});
  expect_error([] { plan_stages(8, {4, 4}); }, ErrorCode::kInvalidArgument, {"strictly increasing"});
}

// Runs body(world_comm, groups, coord) on one thread per rank of `topology`.
// Exceptions are counted per rank instead of failing the thread.
void run_world(const Topology& topology,
               const std::function<void(Communicator&, CommGroups&, RankCoord)>& body,
               std::vector<std::string>* errors = nullptr) {
  auto comms = make_host_communicators(topology.world());
  std::vector<std::thread> threads;
  std::vector<std::string> caught(topology.world());
  for (int r = 0; r < topology.world(); ++r)
    threads.emplace_back([&, r] {
      try {
        CommGroups groups = make_groups(*comms[r], topology);
        body(*comms[r], groups, topology.coord(r));
      } catch (const std::exception& e) {
        caught[r] = e.what();
      }
    });
  for (auto& thread : threads) thread.join();
  if (errors) *errors = caught;
  else
    for (int r = 0; r < topology.world(); ++r) EXPECT_EQ(caught[r], "") << "rank " << r;
}

TEST(HostGroups, GroupsHaveTheTopologysRanks) {
  const Topology t = Topology::make(2, 3, 2);
  run_world(t, [&](Communicator& world, CommGroups& g, RankCoord c) {
    EXPECT_EQ(world.world(), 12);
    EXPECT_EQ(g.tp->world(), 2);
    EXPECT_EQ(g.tp->rank(), c.tp_rank);
    EXPECT_EQ(g.pp->world(), 3);
    EXPECT_EQ(g.pp->rank(), c.stage);
    EXPECT_EQ(g.dp->world(), 2);
    EXPECT_EQ(g.dp->rank(), c.replica);
  });
}

TEST(HostGroups, AllReduceWithinTpGroupsGivesPerGroupSums) {
  // 2 x 2: stage 0 holds world ranks {0, 1}, stage 1 holds {2, 3}.
  const Topology t = Topology::make(2, 2);
  run_world(t, [&](Communicator& world, CommGroups& g, RankCoord c) {
    const int r = world.rank();
    // Odd length, so the reduce-scatter slices are uneven.
    std::vector<float> data(7);
    for (size_t i = 0; i < data.size(); ++i) data[i] = float(100 * r + i);
    g.tp->all_reduce_sum(data.data(), data.size());
    const int a = t.rank({0, c.stage, 0}), b = t.rank({0, c.stage, 1});
    for (size_t i = 0; i < data.size(); ++i) EXPECT_EQ(data[i], float(100 * (a + b) + 2 * i));
    // The pp group sums one tp_rank across the stages.
    float x = float(r);
    g.pp->all_reduce_sum(&x, 1);
    EXPECT_EQ(x, float(t.rank({0, 0, c.tp_rank}) + t.rank({0, 1, c.tp_rank})));
    // And the world still works beside its groups.
    float y = 1;
    world.all_reduce_sum(&y, 1);
    EXPECT_EQ(y, 4.0f);
  });
}

TEST(HostGroups, SendRecvBetweenStages) {
  // A pipeline of 3 stages x tp 2: each stage adds its stage index to what
  // it receives and passes it on; every tp_rank runs its own chain.
  const Topology t = Topology::make(2, 3);
  run_world(t, [&](Communicator&, CommGroups& g, RankCoord c) {
    std::vector<float> activations(5, 0.0f);
    if (c.stage > 0) g.pp->recv(activations.data(), activations.size() * 4, c.stage - 1, 7);
    else
      for (size_t i = 0; i < activations.size(); ++i) activations[i] = float(10 * c.tp_rank + i);
    for (float& v : activations) v += float(c.stage);
    if (c.stage + 1 < t.pp) g.pp->send(activations.data(), activations.size() * 4, c.stage + 1, 7);
    if (c.stage + 1 == t.pp)
      for (size_t i = 0; i < activations.size(); ++i)
        EXPECT_EQ(activations[i], float(10 * c.tp_rank + i + 0 + 1 + 2));
    // Reply from the last stage to the first (a sampled token going back).
    int32_t token = c.stage + 1 == t.pp ? 40 + c.tp_rank : -1;
    if (c.stage + 1 == t.pp) g.pp->send(&token, 4, 0, 1);
    if (c.stage == 0) {
      g.pp->recv(&token, 4, t.pp - 1, 1);
      EXPECT_EQ(token, 40 + c.tp_rank);
    }
  });
}

TEST(HostGroups, MismatchedMessagesFailInsteadOfHanging) {
  std::vector<std::string> errors;
  run_world(Topology::make(1, 2), [&](Communicator&, CommGroups& g, RankCoord c) {
    float buffer[4] = {};
    if (c.stage == 0) g.pp->send(buffer, 16, 1, 3);
    else g.pp->recv(buffer, 8, 0, 3);
  }, &errors);
  for (const std::string& error : errors) {
    EXPECT_NE(error.find("sent 16 bytes"), std::string::npos) << error;
    EXPECT_NE(error.find("expected 8 bytes"), std::string::npos) << error;
  }
  expect_error([] {
    auto comms = make_host_communicators(2);
    comms[0]->send(nullptr, 0, 0);
  }, ErrorCode::kInternal, {"cannot send to rank 0"});
  expect_error([] { make_single_communicator()->recv(nullptr, 0, 0); }, ErrorCode::kInternal,
               {"group of one rank"});
}

TEST(HostGroups, AbortWakesPeersWaitingInOtherGroups) {
  // World rank 3 fails; rank 0 waits in a tp all-reduce that rank 1 joins
  // but nobody completes (rank 1 then waits in a pp recv), and rank 2 waits
  // in a recv from rank 0 of another group: all must wake with kComm.
  const Topology t = Topology::make(2, 2);
  std::vector<std::string> errors;
  std::atomic<int> woken{0};
  run_world(t, [&](Communicator& world, CommGroups& g, RankCoord c) {
    const int r = world.rank();
    try {
      float x = 0;
      if (r == 3) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        world.abort("rank 3 failed on purpose");
        throw Error(ErrorCode::kInternal, "rank 3 failed on purpose");
      }
      if (r == 2) g.pp->recv(&x, 4, 0, 0);       // stage 0 never sends
      if (r == 1) g.pp->recv(&x, 4, 1, 0);       // stage 1's rank 3 never sends
      if (r == 0) g.tp->all_reduce_sum(&x, 1);   // rank 1 never joins
      (void)c;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kComm) ++woken;
      throw;
    }
  }, &errors);
  EXPECT_EQ(woken.load(), 3);
  for (int r = 0; r < 3; ++r)
    EXPECT_NE(errors[r].find("a peer rank failed: rank 3 failed on purpose"), std::string::npos)
        << "rank " << r << ": " << errors[r];
  // An aborted communicator fails at once, without waiting for peers.
  auto comms = make_host_communicators(1);
  comms[0]->abort("gone");
  expect_error([&] { comms[0]->barrier(); }, ErrorCode::kComm, {"gone"});
}

}  // namespace
}  // namespace vkinfer
