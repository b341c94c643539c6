// `vkinfer quantize`: writes a Hugging Face decoder folder as one GGUF file
// quantized by a --quant recipe (engine/model/gguf_quantize.h). The file
// loads in vkinfer to the same device weights as `--quant RECIPE` on the
// folder, and in llama.cpp as a converted + quantized model.
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "engine/model/gguf_quantize.h"
#include "engine/weights/quant_recipe.h"

namespace vkinfer::cli {
namespace {

struct QuantizeFlags {
  std::string model;
  std::string quant;
  std::string out;
  bool no_tokenizer = false;
};

int run_quantize(const QuantizeFlags& flags) {
  GgufQuantizeOptions options;
  options.model_dir = flags.model.empty() ? default_generate_model() : flags.model;
  options.recipe = flags.quant;
  options.out = flags.out;
  options.tokenizer = !flags.no_tokenizer;
  const GgufQuantizeSummary s = quantize_to_gguf(options);
  std::string types;
  for (const auto& [type, count] : s.type_counts) types += fmt::format("{}{} {}", types.empty() ? "" : ", ", count, type);
  fmt::print("wrote {} ({} bytes): {} {} tensors ({})\n", flags.out, s.file_bytes, s.architecture, s.tensors, types);
  if (!s.skipped.empty())
    fmt::print("left out {} checkpoint tensor(s) GGUF has no name for (first: {})\n", s.skipped.size(), s.skipped[0]);
  if (!s.wrote_tokenizer)
    fmt::print("no tokenizer written ({}): the file runs with --prompt-ids only\n",
               flags.no_tokenizer ? "--no-tokenizer" : "the folder has no tokenizer.json");
  return 0;
}

}  // namespace

Command add_quantize_command(CLI::App& app) {
  auto flags = std::make_shared<QuantizeFlags>();
  auto* command = app.add_subcommand(
      "quantize",
      "Write a Hugging Face decoder folder as a quantized GGUF file (llama.cpp's tensor names and metadata); "
      "it loads to the same weights as --quant RECIPE on the folder");
  command->add_option("--model", flags->model, "Hugging Face model folder (default: the bundled GPT-2)");
  command->add_option("--quant", flags->quant, fmt::format("Recipe: {}", quant_recipe_names()))->required();
  command->add_option("--out", flags->out, "The .gguf file to write (replaced only once fully written)")->required();
  command->add_flag("--no-tokenizer", flags->no_tokenizer,
                    "Write no tokenizer (for tokenizers GGUF export does not handle; the file takes --prompt-ids)");
  return {command, [flags] { return run_quantize(*flags); }};
}

}  // namespace vkinfer::cli
