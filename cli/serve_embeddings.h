// `vkinfer serve` for a sentence-embedding encoder (the folders `embed`
// takes): /v1/embeddings, /v1/models, /tokenize, /detokenize, /health and
// /metrics, with completions refused.
#pragma once

#include <cstdint>
#include <string>

#include "cli/options.h"
#include "server/http_server.h"

namespace vkinfer::cli {

struct EmbeddingServeOptions {
  std::string model;
  server::HttpOptions http;
  int64_t batch = 4;       // inputs per encoder forward (--max-running)
  size_t max_queue = 64;   // requests waiting before 503
  RunFlags run;            // --dtype, --buckets, --devices, --pipeline-cache
};

// Binds the port, loads the encoder and serves until SIGINT/SIGTERM; 0.
int run_serve_embeddings(const EmbeddingServeOptions& options);

}  // namespace vkinfer::cli
