// The dp x tp grid of BERT encoder ranks that `classify` and `embed` run on:
// the --dp/--tp/--devices checks, and one body per rank (threads on the
// listed devices, or this process's rank under mpirun) with that rank's
// tensor-parallel slice of the encoder loaded and warmed up.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/model/encoder.h"
#include "engine/vk/device.h"
#include "partition/ranks.h"

namespace vkinfer::cli {

// The physical device of every rank, replica by replica (`ranks_per_replica`
// each), from --devices, or device 0 for max(dp, 1) replicas. dp = 0: not
// given (the device list decides). kInvalidArgument when they disagree.
std::vector<int> encoder_grid_devices(int dp, int tp, size_t ranks_per_replica,
                                      const std::string& devices);

struct EncoderGrid {
  std::filesystem::path model;
  int tp = 1;
  std::vector<int> devices;  // one per rank: replicas x tp
  vk::DeviceOptions device_options;
  DType dtype = DType::kF32;
  EncoderLimits limits;
  EncoderHead head;
};

using EncoderRankBody = std::function<void(RankContext& rank, Encoder& encoder, vk::CommandStream& stream)>;

// Runs `body` on every rank of the grid; global rank 0 should print.
void run_encoder_grid(const EncoderGrid& grid, const EncoderRankBody& body);

}  // namespace vkinfer::cli
