// One device, one encoder: the port is bound first (/health answers 503
// while the model loads), then the encoder is loaded and warmed up as
// `embed` does, and the EmbeddingService loop runs on the encoder's rank
// thread until SIGINT/SIGTERM. tp/pp and --quant are decoder features here:
// they are refused, not ignored.
#include "cli/serve_embeddings.h"

#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "cli/encoder_grid.h"
#include "cli/signal_waiter.h"
#include "engine/core/error.h"
#include "engine/model/config.h"
#include "engine/model/sentence_config.h"
#include "engine/runtime/embedder.h"
#include "engine/text/tokenizer.h"
#include "server/embedding_service.h"

namespace vkinfer::cli {
namespace {

std::string served_name(const std::string& model) {
  std::string name = std::filesystem::path(model).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(model).parent_path().filename().string();
  return name;
}

}  // namespace

int run_serve_embeddings(const EmbeddingServeOptions& options) {
  const RunFlags& run = options.run;
  if (run.tp != 1 || run.pp != 1)
    fail(ErrorCode::kInvalidArgument, "{} is an embedding model: serve runs it on one device, without --tp/--pp. "
         "HINT: `vkinfer embed --dp/--tp` runs batch jobs on several devices", options.model);
  if (!run.quant.empty())
    fail(ErrorCode::kInvalidArgument, "--quant is for causal LMs; an embedding model runs at --dtype f32 or f16");
  const SentenceConfig config = load_sentence_config(options.model);
  std::vector<int64_t> requested;
  if (!run.buckets.empty())
    for (int length : parse_int_list(run.buckets, "--buckets")) requested.push_back(length);
  const std::vector<int64_t> buckets = embedding_buckets(config, requested);
  const std::unique_ptr<Tokenizer> tokenizer = Tokenizer::load(config.model_dir);
  const int64_t vocab_size = ModelConfig::load(config.model_dir).bert().vocab_size;

  server::EmbeddingModel embedding;
  embedding.name = served_name(options.model);
  embedding.dim = config.dim();
  embedding.vocab_size = vocab_size;
  embedding.max_seq_length = config.max_seq_length;
  embedding.tokenize = [&tokenizer, &config](const std::string& text) {
    return tokenize_for_embedding(*tokenizer, config, text).ids;
  };
  // Token-id inputs get [CLS] ... [SEP] only when that is what the
  // tokenizer adds to a text.
  if (tokenizer->encode("", true).ids == std::vector<int32_t>{tokenizer->cls_id(), tokenizer->sep_id()} &&
      tokenizer->cls_id() >= 0 && tokenizer->sep_id() >= 0) {
    embedding.cls_id = tokenizer->cls_id();
    embedding.sep_id = tokenizer->sep_id();
  }
  server::ServedModel served;
  served.name = embedding.name;
  served.vocab_size = vocab_size;
  served.tokenizer = tokenizer.get();

  EncoderGrid grid;
  grid.model = config.model_dir;
  grid.devices = encoder_grid_devices(1, 1, 1, run.devices);
  grid.device_options = device_options(run.pipeline_cache);
  grid.dtype = run.dtype();
  grid.limits = {options.batch, buckets};
  grid.head = embedding_head(config);

  std::unique_ptr<server::HttpServer> http;
  std::atomic<server::EmbeddingService*> serving{nullptr};
  std::atomic<bool> stop_requested{false};
  SignalWaiter signals([&] {
    stop_requested = true;
    if (server::EmbeddingService* service = serving.load()) service->stop();
  });
  // The port is bound before the model loads: /health answers 503 meanwhile.
  http = std::make_unique<server::HttpServer>(options.http);
  http->start();
  fmt::print(stderr, "vkinfer: serving on http://{}:{} (loading {})\n", options.http.host, http->port(),
             options.model);
  try {
    run_encoder_grid(grid, [&](RankContext& rank, Encoder& encoder, vk::CommandStream& stream) {
      server::EmbeddingService service(
          [&](const std::vector<EncoderInput>& inputs) {
            return embed_on_rank(encoder, stream, rank.dp, 0, inputs, options.batch);
          },
          options.max_queue);
      serving = &service;
      http->ready(service, served, embedding);
      fmt::print(stderr, "vkinfer: ready (embedding model, {} dimensions, max_seq_length {}, buckets {})\n",
                 embedding.dim, embedding.max_seq_length, fmt::join(buckets, ","));
      if (stop_requested) service.stop();
      service.run();
      serving = nullptr;
      // No handler may still hold the service when it goes.
      http->stop();
    });
  } catch (...) {
    http->stop();
    throw;
  }
  http->stop();
  fmt::print(stderr, "vkinfer: stopped\n");
  return 0;
}

}  // namespace vkinfer::cli
