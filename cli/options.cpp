#include "cli/options.h"

#include "engine/weights/quant_recipe.h"

#include <cstdlib>

#include "cli/commands.h"
#include "engine/core/error.h"

namespace vkinfer::cli {

DType RunFlags::dtype() const {
  if (dtype_name == "f32") return DType::kF32;
  if (dtype_name == "f16") return DType::kF16;
  fail(ErrorCode::kInvalidArgument, "--dtype must be f32 or f16 (got '{}')", dtype_name);
}

namespace {

std::vector<int64_t> parse_cuts(const std::string& text) {
  std::vector<int64_t> cuts;
  for (int cut : parse_int_list(text, "--pipeline-cuts")) cuts.push_back(cut);
  return cuts;
}

}  // namespace

RankOptions RunFlags::rank_options() const {
  RankOptions options;
  options.tp = tp;
  options.pp = pp;
  if (!pipeline_cuts.empty()) {
    const int stages = static_cast<int>(parse_cuts(pipeline_cuts).size()) + 1;
    if (pp != 1 && pp != stages)
      fail(ErrorCode::kInvalidArgument, "--pipeline-cuts {} makes {} stages but --pp is {}. HINT: "
           "give one of them, or pp - 1 cuts", pipeline_cuts, stages, pp);
    options.pp = stages;
  }
  if (!devices.empty()) options.devices = parse_int_list(devices, "--devices");
  options.device_options = device_options(pipeline_cache);
  return options;
}

void add_run_flags(CLI::App* command, RunFlags& flags) {
  command->add_option("--dtype", flags.dtype_name, "Weight dtype on the device: f32 or f16 (default f32)");
  command->add_option("--quant", flags.quant,
                      std::string("Quantize the weight matrices at load: ") + quant_recipe_names() +
                          " (q4_k_m: llama.cpp's Q4_K_M mix); a GGUF file's blocks are kept as they are");
  command->add_option("--ctx", flags.ctx, "Context length / KV-cache size (default: the model's maximum)");
  command->add_option("--max-prefill-rows", flags.max_prefill_rows,
                      "Largest prefill chunk per sequence; longer prompts are prefilled in chunks");
  command->add_option("--buckets", flags.buckets,
                      "Sequence-length buckets, e.g. 128,512 (bench; generate runs exact lengths)");
  command->add_option("--tp", flags.tp, "Tensor-parallel degree (ranks)");
  command->add_option("--devices", flags.devices,
                      "Vulkan device per rank, e.g. 0,1 (0,0 opens two logical devices on device 0)");
  add_pipeline_cache_flag(command, flags.pipeline_cache);
}

std::vector<StageRange> RunFlags::stages(int64_t num_layers) const {
  if (!pipeline_cuts.empty()) return plan_stages(num_layers, parse_cuts(pipeline_cuts));
  return plan_stages(num_layers, pp);
}

void add_pipeline_flags(CLI::App* command, RunFlags& flags) {
  command->add_option("--pp", flags.pp,
                      "Pipeline stages: the layers cut evenly, the remainder to the later stages");
  command->add_option("--pipeline-cuts", flags.pipeline_cuts,
                      "Explicit cuts at layer boundaries, e.g. 4,9 (the first layer of each later stage)");
  command->add_option("--microbatches", flags.microbatches,
                      "Microbatches a step's sequences are cut into, so stages overlap (with --pp)");
}

void add_pipeline_cache_flag(CLI::App* command, std::string& flag) {
  command->add_option("--pipeline-cache", flag,
                      "Vulkan pipeline cache file (default ~/.cache/vkinfer/pipelines.bin; 'none' = off)");
}

vk::DeviceOptions device_options(const std::string& pipeline_cache_flag) {
  vk::DeviceOptions options;
  if (pipeline_cache_flag == "none") return options;
  if (!pipeline_cache_flag.empty()) {
    options.pipeline_cache_path = pipeline_cache_flag;
    return options;
  }
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  std::filesystem::path root = xdg ? xdg : (home ? std::filesystem::path(home) / ".cache" : "");
  if (!root.empty()) options.pipeline_cache_path = root / "vkinfer" / "pipelines.bin";
  return options;
}

}  // namespace vkinfer::cli
