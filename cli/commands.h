// The vkinfer subcommands. Each file cli/<command>.cpp registers one
// subcommand on the CLI11 app and returns the action to run when chosen.
// Engine errors (vkinfer::Error) propagate to main(), which prints one line
// and picks the exit code; nothing here calls exit().
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace vkinfer::cli {

using Action = std::function<int()>;

struct Command {
  CLI::App* app = nullptr;
  Action run;
};

Command add_devices_command(CLI::App& app);
Command add_tokenize_command(CLI::App& app);
Command add_generate_command(CLI::App& app);
Command add_classify_command(CLI::App& app);
Command add_embed_command(CLI::App& app);
Command add_shard_command(CLI::App& app);
Command add_plan_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_serve_command(CLI::App& app);
Command add_perplexity_command(CLI::App& app);
Command add_quantize_command(CLI::App& app);

// The bundled default models (assets/), found next to the binary's source
// tree or installed data dir.
std::string default_generate_model();
// Where synthetic models are written: $XDG_CACHE_HOME/vkinfer or ~/.cache/vkinfer.
std::string cache_root();
std::string default_classify_model();

// Parses "0,1,1" into indices.
std::vector<int> parse_int_list(const std::string& text, const char* flag);

}  // namespace vkinfer::cli
