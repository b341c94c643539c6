// vkinfer: run Hugging Face transformer models on any Vulkan GPU.
#include <cstdio>
#include <exception>
#include <string>

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
      vkinfer::cli::add_embed_command(app),
      vkinfer::cli::add_shard_command(app),    vkinfer::cli::add_plan_command(app),
      vkinfer::cli::add_bench_command(app),    vkinfer::cli::add_serve_command(app),
      vkinfer::cli::add_perplexity_command(app),
      vkinfer::cli::add_quantize_command(app),
  };
  if (argc > 1 && argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
      known = known || sub->get_name() == argv[1];
    }
    if (!known) {
      std::fprintf(stderr, "vkinfer: error: unknown command '%s' (commands: %s)\n", argv[1],
                   names.c_str());
      return exit_code_for(vkinfer::ErrorCode::kInvalidArgument);
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0 to CLI11.
    if (e.get_exit_code() == 0) return app.exit(e);
    // A bad command line is a bad argument like any other: one line, exit 2.
    std::fprintf(stderr, "vkinfer: error: %s (see vkinfer %s--help)\n", e.what(),
                 app.get_subcommands().empty() ? "" : (app.get_subcommands()[0]->get_name() + " ").c_str());
    return exit_code_for(vkinfer::ErrorCode::kInvalidArgument);
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
