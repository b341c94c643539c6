// The HTTP side of `vkinfer serve` on cpp-httplib: OpenAI's routes
// (/v1/completions, /v1/chat/completions, /v1/models, and /v1/embeddings
// when the model is a sentence-embedding encoder), /tokenize and
// /detokenize, /health (503 until the model is loaded) and Prometheus
// /metrics. Handlers parse and validate, hand the request to the Batcher and
// relay its events, whole or as server-sent events; every failure is an
// OpenAI-style error body and the server keeps serving.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "server/batcher.h"
#include "server/embedding_service.h"
#include "server/openai_api.h"

namespace httplib {
class Server;
}

namespace vkinfer::server {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  size_t max_body_bytes = 1 << 20;
  int threads = 8;                 // concurrent connections handled (serve: 0 picks from the limits)
  double idle_timeout_s = 30;      // read/write timeout on a connection
  double request_timeout_s = 600;  // a generation running longer is cancelled
};

class HttpServer {
 public:
  explicit HttpServer(HttpOptions options);
  ~HttpServer();

  // Binds the port (throws kInvalidArgument with the reason when it cannot),
  // then serves on a background thread: /health answers 503 until ready().
  void start();
  // The model is loaded: completions go to `batcher`.
  void ready(Batcher& batcher, ServedModel model);
  // The model is a sentence-embedding encoder: /v1/embeddings go to
  // `embedder`, completions are refused. `model` serves /tokenize and /v1/models.
  void ready(EmbeddingService& embedder, ServedModel model, EmbeddingModel embedding);
  // Stops accepting and returns once every handler has returned.
  void stop();
  int port() const { return port_; }

 private:
  void routes();
  HttpOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<Batcher*> batcher_{nullptr};
  std::atomic<EmbeddingService*> embedder_{nullptr};  // set instead of batcher_ for an encoder
  ServedModel model_;
  EmbeddingModel embedding_;
  std::atomic<uint64_t> next_id_{0}, http_errors_{0};
};

}  // namespace vkinfer::server
