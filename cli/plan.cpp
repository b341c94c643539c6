// `vkinfer plan`: the per-rank device-memory budget of a model at a tensor-
// parallel degree, context and batch, against each device's heap, computed
// from config.json alone (nothing is allocated or read from the weights).
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/model/kv_cache.h"
#include "engine/core/error.h"
#include "engine/model/config.h"
#include "engine/model/load_decoder.h"
#include "engine/vk/device_info.h"
#include "engine/vk/instance.h"
#include "engine/model/rank_plan.h"
#include "engine/io/shard_manifest.h"

namespace vkinfer::cli {
namespace {

struct PlanFlags {
  std::string model;
  int64_t batch = 1;
  int64_t kv_tokens = 0;
  RunFlags run;
};

int run_plan(const PlanFlags& flags) {
  const std::string model = flags.model.empty() ? default_generate_model() : flags.model;
  const ModelConfig config = ModelConfig::load(model_config_dir(model));
  if (!config.is_decoder())
    fail(ErrorCode::kUnsupported, "`vkinfer plan` covers decoders; BERT's plan is printed by classify");
  const DecoderConfig& decoder = config.decoder();
  auto instance = vk::Instance::create();
  const RankOptions ranks = flags.run.rank_options();
  DecoderLimits limits;
  limits.batch = flags.batch;
  limits.quant = flags.run.quant;
  limits.ctx = flags.run.ctx > 0 ? flags.run.ctx : decoder.max_positions;
  limits.max_rows_per_seq = std::min(flags.run.max_prefill_rows, limits.ctx);
  limits.kv_tokens = flags.kv_tokens;
  KvCache::check_pool(limits.batch, limits.ctx, limits.kv_tokens);
  fmt::print("model {} ({}), {} layers, hidden {}, vocab {}\n", model, config.model_type,
             decoder.num_layers, decoder.hidden_size, decoder.vocab_size);
  const std::vector<StageRange> stages = flags.run.stages(decoder.num_layers);
  const int tp = flags.run.tp;
  fmt::print("tp {}, pp {}, ctx {}, batch {}, KV cache {} positions, dtype {}\n", tp, stages.size(), limits.ctx,
             limits.batch, KvCache::pool_pages(limits.batch, limits.ctx, limits.kv_tokens) * KvCache::kPagePositions,
             flags.run.dtype_name);
  bool fits = true;
  // Global ranks as run_ranks numbers them: tp innermost, then stages.
  for (size_t s = 0; s < stages.size(); ++s) {
    const StageRange& stage = stages[s];
    if (stages.size() > 1)
      fmt::print("stage {}: layers {}-{}{}{}\n", s, stage.first_layer, stage.end_layer - 1,
                 stage.has_embedding ? ", embeddings" : "", stage.has_head ? ", final norm and head" : "");
    for (int tp_rank = 0; tp_rank < tp; ++tp_rank) {
      const int rank = static_cast<int>(s) * tp + tp_rank;
      const RankShape shape = plan_decoder(decoder, {tp_rank, tp});
      const int index = ranks.devices.empty() ? 0 : ranks.devices[rank % ranks.devices.size()];
      if (index >= static_cast<int>(instance->physical_devices().size()))
        fail(ErrorCode::kInvalidArgument, "device {} does not exist", index);
      const vk::DeviceInfo info = vk::query_device_info(instance->physical_devices()[index], index);
      const MemoryPlan plan = plan_decoder_memory(decoder, shape, limits, flags.run.dtype(),
                                                  info.device_local_heap_bytes(), stage);
      const bool ok = plan.total() <= plan.heap_bytes;
      fits = fits && ok;
      fmt::print("{}rank {} on device {} ({}): weights {:.1f} MiB + KV cache/activations {:.1f} MiB "
                 "= {:.1f} MiB of {:.1f} MiB heap: {}\n", stages.size() > 1 ? "  " : "", rank, index,
                 info.name, plan.weight_bytes / 1048576.0, plan.runtime_bytes / 1048576.0,
                 plan.total() / 1048576.0, plan.heap_bytes / 1048576.0, ok ? "fits" : "DOES NOT FIT");
    }
  }
  return fits ? 0 : 4;
}

}  // namespace

Command add_plan_command(CLI::App& app) {
  auto flags = std::make_shared<PlanFlags>();
  auto* command = app.add_subcommand(
      "plan", "Print each rank's device-memory budget (its stage's weights/tp + KV cache/tp + "
              "activations) against its device heap, before anything is allocated");
  command->add_option("--model", flags->model, "Hugging Face model folder or sharded folder");
  command->add_option("--batch", flags->batch, "Sequences generated together (serve's --max-running)");
  command->add_option("--kv-tokens", flags->kv_tokens,
                      "Positions of the paged KV cache (serve's --kv-tokens; default: a whole context "
                      "per sequence)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  add_run_flags(command, flags->run);
  add_pipeline_flags(command, flags->run);
  return {command, [flags] { return run_plan(*flags); }};
}

}  // namespace vkinfer::cli
