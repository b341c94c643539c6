// Per-axis groups of a tp × pp (× dp) world, made by splitting the world
// communicator; written once over the Communicator interface so the thread
// and MPI implementations get the same groups.
#include "engine/core/error.h"
#include "engine/parallel/communicator.h"

namespace vkinfer {

CommGroups make_groups(Communicator& world, const Topology& topology) {
  topology.check_world(world.world());
  const RankCoord c = topology.coord(world.rank());
  CommGroups groups;
  // Colors name the group; keys order ranks within it by their coordinate
  // on the group's axis, so a group's rank i is tp_rank / stage / replica i.
  groups.tp = world.split(c.replica * topology.pp + c.stage, c.tp_rank);
  groups.pp = world.split(c.replica * topology.tp + c.tp_rank, c.stage);
  groups.dp = world.split(c.stage * topology.tp + c.tp_rank, c.replica);
  return groups;
}

}  // namespace vkinfer
