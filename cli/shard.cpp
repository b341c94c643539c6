// `vkinfer shard`: split a Hugging Face decoder into per-rank shard files.
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/core/error.h"
#include "partition/shard_writer.h"

namespace vkinfer::cli {
namespace {

struct ShardFlags {
  std::string model;
  std::string out;
  int tp = 2;
  std::string dtype = "f32";
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
  return {command, [flags] {
            RunFlags run;
            run.dtype_name = flags->dtype;
            write_shards(flags->model, flags->tp, flags->out, run.dtype());
            fmt::print("wrote {} rank shards to {}\n", flags->tp, flags->out);
            return 0;
          }};
}

}  // namespace vkinfer::cli
