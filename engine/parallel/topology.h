// The shape of a parallel run: dp replicas × pp pipeline stages × tp
// tensor-parallel ranks, and the mapping between a global rank and its
// (replica, stage, tp_rank) coordinates. tp is the innermost axis, so the
// ranks of one stage are contiguous (one machine's devices under mpirun, the
// fast links); then stages; replicas outermost.
//
// dp is here because the classifier already runs data-parallel replicas
// (engine/runtime/classifier.cpp, one per --devices entry) and a dp × tp BERT
// grid needs, per rank, both its replica (which inputs it takes) and its tp
// slice. Replicas never all-reduce during inference, so dp only adds a group
// for handing inputs out and results back; at dp = 1 it changes nothing.
#pragma once

#include <string>

namespace vkinfer {

struct RankCoord {
  int replica = 0;   // data-parallel index, [0, dp)
  int stage = 0;     // pipeline stage, [0, pp)
  int tp_rank = 0;   // rank within the stage's tensor-parallel group, [0, tp)
};

struct Topology {
  int tp = 1;
  int pp = 1;
  int dp = 1;

  // Throws kInvalidArgument when a degree is < 1.
  static Topology make(int tp, int pp = 1, int dp = 1);

  int world() const { return tp * pp * dp; }
  // Throws kInvalidArgument (with the mpirun -np to use) unless world() ==
  // world_size: a launch of world_size ranks cannot host this topology.
  void check_world(int world_size) const;

  // Throws kInvalidArgument for a rank outside [0, world()).
  RankCoord coord(int rank) const;
  // Throws kInvalidArgument for a coordinate out of range.
  int rank(RankCoord coord) const;

  bool first_stage(int rank) const { return coord(rank).stage == 0; }
  bool last_stage(int rank) const { return coord(rank).stage == pp - 1; }

  // "tp=2 pp=2" (dp shown only when > 1), for messages.
  std::string describe() const;
};

inline bool operator==(const RankCoord& a, const RankCoord& b) {
  return a.replica == b.replica && a.stage == b.stage && a.tp_rank == b.tp_rank;
}

}  // namespace vkinfer
