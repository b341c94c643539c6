// vkinfer: run Hugging Face transformer models on any Vulkan GPU.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "engine/core/error.h"

namespace {

int exit_code_for(vkinfer::ErrorCode code) {
  using vkinfer::ErrorCode;
  switch (code) {
    case ErrorCode::kInvalidArgument: return 2;
    case ErrorCode::kNoDevice: return 3;
    case ErrorCode::kOutOfMemory: return 4;
    case ErrorCode::kDeviceLost: return 5;
    default: return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "vkinfer: Hugging Face transformer models on any Vulkan GPU (LLM generation, BERT "
      "classification, tensor parallelism over several GPUs or MPI ranks)",
      "vkinfer"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "vkinfer 0.1.0");
  std::vector<vkinfer::cli::Command> commands = {
      vkinfer::cli::add_devices_command(app),  vkinfer::cli::add_tokenize_command(app),
      vkinfer::cli::add_generate_command(app), vkinfer::cli::add_classify_command(app),
      vkinfer::cli::add_shard_command(app),    vkinfer::cli::add_plan_command(app),
      vkinfer::cli::add_bench_command(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& command : commands)
      if (command.app && command.app->parsed()) return command.run();
  } catch (const vkinfer::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "vkinfer: error: %s\n", e.what());
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "vkinfer: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
