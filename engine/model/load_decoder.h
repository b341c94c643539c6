// From a Hugging Face folder to a ready rank-local Decoder: config, memory
// plan against the device heap, this rank's weight slices, runtime buffers.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "engine/model/decoder.h"

namespace vkinfer {

struct MemoryPlan {
  uint64_t weight_bytes = 0;
  uint64_t runtime_bytes = 0;  // KV cache + activations
  uint64_t heap_bytes = 0;
  uint64_t total() const { return weight_bytes + runtime_bytes; }
};

MemoryPlan plan_decoder_memory(const DecoderConfig& config, const RankShape& shape,
                               const DecoderLimits& limits, DType dtype, uint64_t heap_bytes,
                               const StageRange& stage, double matrix_bytes_per_weight = 0);

// Throws kOutOfMemory (with needed vs available) before allocating anything
// when the rank's share does not fit the device heap. Without a stage, the
// whole model.
std::unique_ptr<Decoder> load_decoder(const std::filesystem::path& dir, vk::Device& device,
                                      Communicator& comm, DType dtype, DecoderLimits limits,
                                      std::optional<StageRange> stage = std::nullopt);

}  // namespace vkinfer
