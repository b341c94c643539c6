// `vkinfer shard`: split a Hugging Face decoder into per-rank shard files.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/core/error.h"
#include "engine/model/config.h"
#include "engine/core/error.h"
#include "partition/shard_writer.h"

namespace vkinfer::cli {
namespace {

struct ShardFlags {
  std::string model;
  std::string out;
  int tp = 2;
  std::string dtype = "f32";
  RunFlags run;  // --pp / --pipeline-cuts: one folder per (stage, rank)
};

}  // namespace

Command add_shard_command(CLI::App& app) {
  auto flags = std::make_shared<ShardFlags>();
  auto* command = app.add_subcommand(
      "shard", "Write per-rank tensor-parallel shards of a decoder or BERT model (OUT/tp_rank_<i>/model.safetensors + a "
               "manifest, config and tokenizer files); load them with --model OUT --tp N");
  command->add_option("--model", flags->model, "Hugging Face model folder")->required();
  command->add_option("--out", flags->out, "Output folder")->required();
  command->add_option("--tp", flags->tp, "Tensor-parallel degree")->required();
  command->add_option("--dtype", flags->dtype, "Matrix dtype in the shard files: f32 or f16");
  command->add_option("--pp", flags->run.pp, "Pipeline stages: one folder per (stage, rank), each with its layers only");
  command->add_option("--pipeline-cuts", flags->run.pipeline_cuts, "Explicit stage cuts, e.g. 4,9");
  return {command, [flags] {
            flags->run.dtype_name = flags->dtype;
            std::vector<StageRange> stages;
            if (flags->run.pp != 1 || !flags->run.pipeline_cuts.empty()) {
              const ModelConfig config = ModelConfig::load(flags->model);
              if (!config.is_decoder())
                fail(ErrorCode::kInvalidArgument, "pipeline stages are for decoders; shard BERT by --tp only");
              stages = flags->run.stages(config.decoder().num_layers);
            }
            write_shards(flags->model, flags->tp, flags->out, flags->run.dtype(), stages);
            fmt::print("wrote {} rank shards{} to {}\n", flags->tp,
                       stages.empty() ? "" : fmt::format(" for each of {} stages", stages.size()), flags->out);
            return 0;
          }};
}

}  // namespace vkinfer::cli
