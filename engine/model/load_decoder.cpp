#include "engine/model/load_decoder.h"

#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/model/generation_config.h"
#include "engine/vk/device.h"
#include "engine/io/shard_manifest.h"
#include "engine/weights/block_formats.h"
#include "engine/weights/quant_recipe.h"

namespace vkinfer {

namespace {

// Bytes per weight of the matrices as they will sit on the device, for the
// memory plan: a GGUF file's own mix (block tensors keep their blocks,
// plain ones take --dtype), else --quant's base type (q4_k_m: llama.cpp's
// published 4.89 bits per weight), else 0 (the dtype's size).
double matrix_bytes_per_weight(const Checkpoint& checkpoint, DType dtype, const std::string& quant) {
  if (checkpoint.gguf()) {
    double bytes = 0, weights = 0;
    for (const std::string& name : checkpoint.names()) {
      const std::vector<int64_t>& shape = checkpoint.info(name).shape;
      if (shape.size() != 2) continue;
      const double n = double(shape[0]) * double(shape[1]);
      const std::optional<GgmlType> type = checkpoint.block_type(name);
      bytes += type ? n * block_format(*type).block_bytes / block_format(*type).block_elements
                    : n * dtype_size(dtype);
      weights += n;
    }
    return weights > 0 ? bytes / weights : 0;
  }
  if (quant.empty()) return 0;
  const QuantRecipe recipe = parse_quant_recipe(quant);
  if (recipe.k_mixed) return 4.89 / 8;
  const BlockFormat& base = block_format(recipe.base);
  return double(base.block_bytes) / double(base.block_elements);
}

}  // namespace

MemoryPlan plan_decoder_memory(const DecoderConfig& config, const RankShape& shape,
                               const DecoderLimits& limits, DType dtype, uint64_t heap_bytes,
                               const StageRange& stage, double matrix_bytes_per_weight) {
  MemoryPlan plan;
  plan.weight_bytes = decoder_weight_bytes(config, shape, dtype, stage, matrix_bytes_per_weight);
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
  // A shard folder: this rank reads its own file; otherwise it slices the
  // original checkpoint through the mmap.
  const bool sharded = is_shard_folder(dir);
  const Checkpoint checkpoint = Checkpoint::open(sharded ? rank_folder(dir, comm.rank(), comm.world(), stage.first_layer, stage.end_layer) : dir);
  const MemoryPlan plan = plan_decoder_memory(config, shape, limits, dtype,
                                              device.info().device_local_heap_bytes(), stage,
                                              matrix_bytes_per_weight(checkpoint, dtype, limits.quant));
  if (plan.total() > plan.heap_bytes)
    fail(ErrorCode::kOutOfMemory,
         "the model needs {:.1f} MiB per rank on the device (weights {:.1f} MiB + KV "
         "cache/activations {:.1f} MiB) but device {} has a {:.1f} MiB heap. HINT: use "
         "{}a smaller --ctx/--batch, or more --tp ranks or --pp stages (see `vkinfer plan`)",
         plan.total() / 1048576.0, plan.weight_bytes / 1048576.0, plan.runtime_bytes / 1048576.0,
         device.info().name, plan.heap_bytes / 1048576.0,
         dtype == DType::kF32 ? "--dtype f16, " : "");
  WeightLoader loader(checkpoint, &device, dtype, sharded ? LoadMode::kShardRead : LoadMode::kDevice);
  if (!limits.quant.empty()) {
    if (sharded)
      fail(ErrorCode::kUnsupported, "--quant {}: {} is a shard folder; quantize the original checkpoint "
           "instead", limits.quant, dir.string());
    loader.set_quant(LoadQuant{parse_quant_recipe(limits.quant), config.num_layers, config.tie_word_embeddings});
  }
  DecoderWeights weights = load_decoder_weights(loader, config, shape, comm.tp(), stage);
  return std::make_unique<Decoder>(device, comm, config, shape, std::move(weights), limits, stage);
}

}  // namespace vkinfer
