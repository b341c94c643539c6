#include "engine/model/encoder_load.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/shard_manifest.h"
#include "engine/vk/device.h"

namespace vkinfer {

std::vector<int64_t> default_buckets(int64_t max_positions) {
  std::vector<int64_t> buckets;
  for (int64_t length = 128; length <= max_positions; length *= 2) buckets.push_back(length);
  if (buckets.empty() || buckets.back() != max_positions) buckets.push_back(max_positions);
  return buckets;
}

std::vector<int64_t> check_buckets(std::vector<int64_t> buckets, int64_t max_positions) {
  if (buckets.empty()) fail(ErrorCode::kInvalidArgument, "--buckets: the list is empty");
  for (int64_t length : buckets)
    if (length < 1 || length > max_positions)
      fail(ErrorCode::kInvalidArgument,
           "--buckets: {} is outside [1, {}] (the model's max_position_embeddings)", length,
           max_positions);
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  return buckets;
}

EncoderMemoryPlan plan_encoder_memory(const BertConfig& config, const RankShape& shape,
                                      const EncoderLimits& limits, DType dtype,
                                      uint64_t heap_bytes, const EncoderHead& head) {
  EncoderMemoryPlan plan;
  plan.weight_bytes = encoder_weight_bytes(config, shape, dtype, !head.embeds());
  plan.runtime_bytes = encoder_runtime_bytes(config, shape, limits, head);
  plan.largest_buffer = encoder_largest_buffer_bytes(config, shape, limits);
  plan.heap_bytes = heap_bytes;
  return plan;
}

std::unique_ptr<Encoder> load_encoder(const std::filesystem::path& dir, vk::Device& device,
                                      Communicator& comm, DType dtype, EncoderLimits limits,
                                      const EncoderHead& head) {
  const ModelConfig model = ModelConfig::load(dir);
  const BertConfig& config = model.bert();
  limits.buckets = limits.buckets.empty() ? default_buckets(config.max_position_embeddings)
                                          : check_buckets(limits.buckets, config.max_position_embeddings);
  if (limits.batch < 1)
    fail(ErrorCode::kInvalidArgument, "--batch {} must be at least 1", limits.batch);
  const RankShape shape = plan_encoder(config, comm.tp());
  const EncoderMemoryPlan plan = plan_encoder_memory(config, shape, limits, dtype,
                                                     device.info().device_local_heap_bytes(), head);
  if (plan.total() > plan.heap_bytes)
    fail(ErrorCode::kOutOfMemory,
         "the model needs {:.1f} MiB on device {} (weights {:.1f} MiB + activations for batch {} "
         "over {} buckets {:.1f} MiB) but its heap has {:.1f} MiB. HINT: use --dtype f16, fewer or "
         "smaller --buckets, or a smaller --batch", plan.total() / 1048576.0, device.info().name,
         plan.weight_bytes / 1048576.0, limits.batch, limits.buckets.size(),
         plan.runtime_bytes / 1048576.0, plan.heap_bytes / 1048576.0);
  if (plan.largest_buffer > device.info().max_storage_buffer_range)
    fail(ErrorCode::kOutOfMemory,
         "an activation buffer of {:.1f} MiB (batch {} x bucket {}) exceeds device {}'s "
         "maxStorageBufferRange ({:.1f} MiB). HINT: lower --batch or the largest --buckets value",
         plan.largest_buffer / 1048576.0, limits.batch, limits.buckets.back(), device.info().name,
         device.info().max_storage_buffer_range / 1048576.0);
  // A shard folder: this rank reads its own file; otherwise it slices the
  // original checkpoint through the mmap.
  const bool sharded = is_shard_folder(dir);
  const Checkpoint checkpoint =
      Checkpoint::open(sharded ? rank_folder(dir, comm.rank(), comm.world()) : dir);
  WeightLoader loader(checkpoint, &device, dtype, sharded ? LoadMode::kShardRead : LoadMode::kDevice);
  EncoderWeights weights = load_encoder_weights(loader, config, shape, comm.tp(), !head.embeds());
  return std::make_unique<Encoder>(device, comm, config, shape, std::move(weights),
                                   std::move(limits), head);
}

}  // namespace vkinfer
