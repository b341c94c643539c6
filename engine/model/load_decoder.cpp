#include "engine/model/load_decoder.h"

#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/model/generation_config.h"
#include "engine/vk/device.h"
#include "engine/io/shard_manifest.h"

namespace vkinfer {

MemoryPlan plan_decoder_memory(const DecoderConfig& config, const RankShape& shape,
                               const DecoderLimits& limits, DType dtype, uint64_t heap_bytes,
                               const StageRange& stage) {
  MemoryPlan plan;
  plan.weight_bytes = decoder_weight_bytes(config, shape, dtype, stage);
  plan.runtime_bytes = decoder_runtime_bytes(config, shape, limits, stage);
  plan.heap_bytes = heap_bytes;
  return plan;
}

std::unique_ptr<Decoder> load_decoder(const std::filesystem::path& dir, vk::Device& device,
                                      Communicator& comm, DType dtype, DecoderLimits limits,
                                      std::optional<StageRange> stage_or_whole) {
  const ModelConfig model = ModelConfig::load(dir);
  // generate() stops at generation_config.json's eos ids when it has them.
  DecoderConfig config = model.decoder();
  apply_generation_config(dir, config);
  const StageRange stage = stage_or_whole ? *stage_or_whole : plan_stages(config.num_layers, 1)[0];
  if (limits.ctx <= 0) limits.ctx = config.max_positions;
  if (config.learned_positions && limits.ctx > config.max_positions)
    fail(ErrorCode::kInvalidArgument,
         "--ctx {} exceeds the model's {} learned positions", limits.ctx, config.max_positions);
  limits.max_rows_per_seq = std::min(limits.max_rows_per_seq, limits.ctx);
  const RankShape shape = plan_decoder(config, comm.tp());
  const MemoryPlan plan = plan_decoder_memory(config, shape, limits, dtype,
                                              device.info().device_local_heap_bytes(), stage);
  if (plan.total() > plan.heap_bytes)
    fail(ErrorCode::kOutOfMemory,
         "the model needs {:.1f} MiB per rank on the device (weights {:.1f} MiB + KV "
         "cache/activations {:.1f} MiB) but device {} has a {:.1f} MiB heap. HINT: use "
         "{}a smaller --ctx/--batch, or more --tp ranks or --pp stages (see `vkinfer plan`)",
         plan.total() / 1048576.0, plan.weight_bytes / 1048576.0, plan.runtime_bytes / 1048576.0,
         device.info().name, plan.heap_bytes / 1048576.0,
         dtype == DType::kF32 ? "--dtype f16, " : "");
  // A shard folder: this rank reads its own file; otherwise it slices the
  // original checkpoint through the mmap.
  const bool sharded = is_shard_folder(dir);
  const Checkpoint checkpoint = Checkpoint::open(sharded ? rank_folder(dir, comm.rank(), comm.world(), stage.first_layer, stage.end_layer) : dir);
  WeightLoader loader(checkpoint, &device, dtype, sharded ? LoadMode::kShardRead : LoadMode::kDevice);
  DecoderWeights weights = load_decoder_weights(loader, config, shape, comm.tp(), stage);
  return std::make_unique<Decoder>(device, comm, config, shape, std::move(weights), limits, stage);
}

}  // namespace vkinfer
