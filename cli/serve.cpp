// `vkinfer serve`: an OpenAI-compatible HTTP server. The port is bound
// first (so /health answers 503 while the model loads), then the model is
// loaded and the batcher runs on this rank's thread until SIGINT/SIGTERM:
// then the server stops accepting, running requests end "cancelled" and the
// process exits 0.
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/serve_embeddings.h"
#include "cli/signal_waiter.h"
#include "engine/core/error.h"
#include "engine/model/config.h"
#include "engine/model/load_decoder.h"
#include "engine/runtime/engine.h"
#include "engine/text/chat_template.h"
#include "engine/runtime/model_files.h"
#include "engine/runtime/synthetic_model.h"
#include "engine/text/tokenizer.h"
#include "server/batcher.h"
#include "server/http_server.h"

namespace vkinfer::cli {
namespace {

struct ServeFlags {
  std::string model;
  std::string synthetic;
  server::HttpOptions http;
  int64_t max_running = 4;
  size_t max_queue = 64;
  int64_t max_prompt_tokens = 0;
  int64_t max_total_tokens = 0;
  int64_t kv_tokens = 0;
  int64_t step_tokens = 0;
  RunFlags run;
};

int run_serve(const ServeFlags& given) {
  // A request holds its connection's thread while it waits or runs: with
  // fewer threads than running and queued requests, the rest would wait
  // unseen in the accept backlog (neither running nor refused with 503).
  ServeFlags flags = given;
  if (flags.http.threads == 0)
    flags.http.threads = static_cast<int>(
        std::min<int64_t>(flags.max_running + static_cast<int64_t>(flags.max_queue) + 4, 1024));
  if (!flags.model.empty() && !flags.synthetic.empty())
    fail(ErrorCode::kInvalidArgument, "give --model or --synthetic, not both");
  const std::string model = !flags.synthetic.empty() ? synthetic_model(flags.synthetic, cache_root()).string()
                            : flags.model.empty()    ? default_generate_model()
                                                     : flags.model;
  const ModelConfig config = ModelConfig::load(model);
  // A sentence-embedding encoder serves /v1/embeddings instead.
  if (!config.is_decoder())
    return run_serve_embeddings(
        {model, flags.http, flags.max_running, flags.max_queue, flags.run});
  std::unique_ptr<Tokenizer> tokenizer;
  if (model_tokenizer_present(model)) tokenizer = load_model_tokenizer(model);
  std::optional<ChatTemplate> chat = tokenizer ? load_model_chat_template(model) : std::nullopt;

  // Global rank 0 serves HTTP and leads the batch; with --tp/--pp the other
  // ranks (threads here, or processes under mpirun) follow its steps.
  std::unique_ptr<server::HttpServer> http;
  std::atomic<server::Batcher*> leading{nullptr};
  std::atomic<bool> stop_requested{false};
  SignalWaiter signals([&] {
    stop_requested = true;
    if (server::Batcher* batcher = leading.load()) batcher->stop();
  });
  auto stop_http = [&] {
    if (http) http->stop();
  };
  try {
    run_ranks(flags.run.rank_options(), [&](RankContext& rank) {
      const bool leader = rank.world.rank() == 0;
      if (leader) {
        // The port is bound before the model loads: /health answers 503 meanwhile.
        http = std::make_unique<server::HttpServer>(flags.http);
        http->start();
        fmt::print(stderr, "vkinfer: serving on http://{}:{} (loading {})\n", flags.http.host, http->port(), model);
      }
      DecoderLimits limits;
      limits.batch = flags.max_running;
      limits.quant = flags.run.quant;
      limits.ctx = flags.run.ctx;
      limits.kv_tokens = flags.kv_tokens;
      limits.max_rows_per_seq = flags.run.max_prefill_rows;
      const StageRange stage = flags.run.stages(config.decoder().num_layers).at(rank.coord.stage);
      auto decoder = load_decoder(model, rank.device, rank.comm, flags.run.dtype(), limits, stage);
      Engine engine(*decoder, {&rank.pp, flags.run.microbatches});
      server::Batcher batcher(engine, tokenizer.get(), flags.max_queue, &rank.world, flags.step_tokens);
      if (leader) {
        server::ServedModel served;
        served.name = std::filesystem::path(model).lexically_normal().filename().string();
        if (served.name.empty()) served.name = std::filesystem::path(model).parent_path().filename().string();
        served.ctx = decoder->limits().ctx;
        served.vocab_size = decoder->config().vocab_size;
        served.tokenizer = tokenizer.get();
        served.max_prompt_tokens = flags.max_prompt_tokens;
        served.max_total_tokens = flags.max_total_tokens;
        if (chat)
          served.render_chat = [&chat](const nlohmann::json& messages) {
            return chat->render(nlohmann::ordered_json::parse(messages.dump()), /*add_generation_prompt=*/true);
          };
        leading = &batcher;
        http->ready(batcher, served);
        fmt::print(stderr, "vkinfer: ready ({} sequences of up to {} positions sharing a KV cache of {} "
                   "positions in pages of {}, {} rank(s))\n",
                   flags.max_running, served.ctx, engine.cache().pages() * KvCache::kPagePositions,
                   KvCache::kPagePositions, rank.world.world());
        if (stop_requested) batcher.stop();
      }
      batcher.run();
      if (leader) {
        leading = nullptr;
        http->stop();
      }
    });
  } catch (...) {
    stop_http();
    throw;
  }
  stop_http();
  fmt::print(stderr, "vkinfer: stopped\n");
  return 0;
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  flags->http.threads = 0;  // from the limits (run_serve)
  auto* command = app.add_subcommand(
      "serve",
      "Serve a causal LM over HTTP with OpenAI's API (/v1/completions, /v1/chat/completions, "
      "/v1/models), /tokenize, /detokenize, /health and Prometheus /metrics. Requests join the "
      "running batch between steps (continuous batching); each keeps its own sampling parameters "
      "and seed. A sentence-embedding encoder (the folders `embed` takes) serves /v1/embeddings "
      "instead of completions. Ctrl-C stops it.");
  command->add_option("--model", flags->model, "Hugging Face model folder (default: the bundled model)");
  command->add_option("--synthetic", flags->synthetic,
                      "Serve a benchmark shape with random weights and no tokenizer instead (gpt2-124m | "
                      "llama-1b; prompts as token ids)");
  command->add_option("--host", flags->http.host, "Address to listen on (default 127.0.0.1)");
  command->add_option("--port", flags->http.port, "Port (default 8080; 0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  command->add_option("--max-running", flags->max_running,
                      "Sequences running at once: the KV-cache slots, or for an embedding model "
                      "the inputs per encoder forward (default 4)")
      ->check(CLI::Range(int64_t{1}, int64_t{1024}));
  command->add_option("--kv-tokens", flags->kv_tokens,
                      "Positions of the paged KV cache, shared by the running sequences; each request "
                      "reserves pages for its prompt and max_tokens when it starts (default: "
                      "--max-running x the context, so every sequence can fill it)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  command->add_option("--step-tokens", flags->step_tokens,
                      "Rows one engine step may carry: every running sequence's decode row, then prefill "
                      "chunks up to this, so a burst of long prompts delays running streams by at most "
                      "that much work (default: --max-running x --max-prefill-rows, no bound)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  command->add_option("--max-queue", flags->max_queue,
                      "Requests waiting for a slot before new ones get 503 (default 64)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  command->add_option("--max-prompt-tokens", flags->max_prompt_tokens,
                      "Longest prompt accepted (default: the context)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  command->add_option("--max-total-tokens", flags->max_total_tokens,
                      "Longest prompt + max_tokens of one request, and a chat's default max_tokens up to "
                      "it: the KV-cache positions one request may reserve (default: the context)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
  command->add_option("--max-body-bytes", flags->http.max_body_bytes, "Largest request body (default 1 MiB)")
      ->check(CLI::Range(size_t{64}, size_t{1} << 30));
  command->add_option("--threads", flags->http.threads,
                      "Connections served at once (default: --max-running + --max-queue + 4, at most "
                      "1024, so every running or queued request holds one and /health still answers)")
      ->check(CLI::Range(1, 1024));
  command->add_option("--idle-timeout", flags->http.idle_timeout_s,
                      "Seconds a connection may stay silent (default 30)")
      ->check(CLI::Range(1.0, 86400.0));
  command->add_option("--request-timeout", flags->http.request_timeout_s,
                      "Seconds a generation may run before it is cancelled (default 600)")
      ->check(CLI::Range(1.0, 86400.0));
  add_run_flags(command, flags->run);
  add_pipeline_flags(command, flags->run);
  return {command, [flags] { return run_serve(*flags); }};
}

}  // namespace vkinfer::cli
