// Topology validation and the rank <-> coordinate mapping (topology.h).
#include "engine/parallel/topology.h"

#include "engine/core/error.h"

namespace vkinfer {

Topology Topology::make(int tp, int pp, int dp) {
  if (tp < 1) fail(ErrorCode::kInvalidArgument, "--tp must be >= 1 (got {})", tp);
  if (pp < 1) fail(ErrorCode::kInvalidArgument, "--pp must be >= 1 (got {})", pp);
  if (dp < 1) fail(ErrorCode::kInvalidArgument, "--dp must be >= 1 (got {})", dp);
  return {tp, pp, dp};
}

void Topology::check_world(int world_size) const {
  make(tp, pp, dp);
  if (world() != world_size)
    fail(ErrorCode::kInvalidArgument, "{} needs {} ranks but {} were started. HINT: start "
         "tp x pp{} = {} ranks (mpirun -np {})", describe(), world(), world_size,
         dp > 1 ? " x dp" : "", world(), world());
}

RankCoord Topology::coord(int rank) const {
  if (rank < 0 || rank >= world())
    fail(ErrorCode::kInvalidArgument, "rank {} is outside the {} ranks of {}", rank, world(),
         describe());
  return {rank / (tp * pp), rank / tp % pp, rank % tp};
}

int Topology::rank(RankCoord c) const {
  if (c.replica < 0 || c.replica >= dp || c.stage < 0 || c.stage >= pp || c.tp_rank < 0 ||
      c.tp_rank >= tp)
    fail(ErrorCode::kInvalidArgument, "(replica {}, stage {}, tp rank {}) is outside {}",
         c.replica, c.stage, c.tp_rank, describe());
  return (c.replica * pp + c.stage) * tp + c.tp_rank;
}

std::string Topology::describe() const {
  std::string text = "tp=" + std::to_string(tp) + " pp=" + std::to_string(pp);
  if (dp > 1) text += " dp=" + std::to_string(dp);
  return text;
}

}  // namespace vkinfer
