#include "cli/encoder_grid.h"

#include <algorithm>

#include "cli/commands.h"
#include "engine/core/error.h"
#include "engine/model/encoder_load.h"

namespace vkinfer::cli {

std::vector<int> encoder_grid_devices(int dp, int tp, size_t ranks_per_replica,
                                      const std::string& devices) {
  if (tp < 1) fail(ErrorCode::kInvalidArgument, "--tp {} must be at least 1", tp);
  if (dp < 0) fail(ErrorCode::kInvalidArgument, "--dp {} must be at least 1", dp);
  if (devices.empty()) return std::vector<int>(std::max(dp, 1) * ranks_per_replica, 0);
  std::vector<int> list = parse_int_list(devices, "--devices");
  if (list.empty() || list.size() % ranks_per_replica != 0 ||
      (dp && static_cast<size_t>(dp) * ranks_per_replica != list.size()))
    fail(ErrorCode::kInvalidArgument, "--devices lists {} devices but --dp {} x --tp {} ranks need "
         "one each", list.size(), std::max(dp, 1), tp);
  return list;
}

void run_encoder_grid(const EncoderGrid& grid, const EncoderRankBody& body) {
  RankOptions ranks;
  ranks.tp = grid.tp;
  ranks.dp = static_cast<int>(grid.devices.size()) / grid.tp;
  ranks.devices = grid.devices;
  ranks.device_options = grid.device_options;
  run_ranks(ranks, [&](RankContext& rank) {
    auto encoder = load_encoder(grid.model, rank.device, rank.comm, grid.dtype, grid.limits, grid.head);
    vk::CommandStream stream(rank.device);
    encoder->warm_up(stream);
    body(rank, *encoder, stream);
  });
}

}  // namespace vkinfer::cli
