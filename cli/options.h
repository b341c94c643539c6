// Flags shared by the commands that run a model: dtype, context, devices,
// tensor parallelism and the pipeline cache.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/parallel/plan.h"
#include "partition/ranks.h"

namespace vkinfer::cli {

struct RunFlags {
  std::string dtype_name = "f32";
  std::string quant;             // --quant recipe ("" = none), see quant_recipe.h
  int64_t ctx = 0;               // 0: the model's maximum
  int64_t max_prefill_rows = 512;
  int tp = 1;
  int pp = 1;                  // pipeline stages (generate, bench, plan)
  std::string pipeline_cuts;   // explicit cuts: the first layer of each later stage
  int microbatches = 1;
  std::string devices;
  std::string buckets;
  std::string pipeline_cache;    // "" = default under the user cache dir; "none" = off

  DType dtype() const;
  RankOptions rank_options() const;
  // The stages of a model of `num_layers` layers: at --pipeline-cuts, else
  // --pp even stages (the remainder to the later ones).
  std::vector<StageRange> stages(int64_t num_layers) const;
};

void add_run_flags(CLI::App* command, RunFlags& flags);
// --pp, --pipeline-cuts and --microbatches (commands that run a decoder).
void add_pipeline_flags(CLI::App* command, RunFlags& flags);

// --pipeline-cache for any command that opens devices: `flag` is the option's
// storage ("" = the default under the user cache dir, "none" = off).
void add_pipeline_cache_flag(CLI::App* command, std::string& flag);
vk::DeviceOptions device_options(const std::string& pipeline_cache_flag);

}  // namespace vkinfer::cli
