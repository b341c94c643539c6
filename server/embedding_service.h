// The embeddings side of `vkinfer serve`: HTTP threads parse a request,
// submit its inputs as one job into a bounded queue (full: 503) and wait;
// one loop, on the thread that owns the encoder, takes every queued job that
// fits one run, embeds their inputs together (so the embedder's buckets and
// batches fill across requests: each input is padded to its own bucket, so
// its vector does not depend on what it ran with) and hands each job its
// vectors. The encoder and its pipelines are built before the loop starts;
// a run allocates host vectors only.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/runtime/embedder.h"
#include "server/embeddings_api.h"

namespace vkinfer::server {

// Counters for /metrics (monotonic totals and current gauges).
struct EmbeddingStats {
  uint64_t requests = 0, inputs = 0, prompt_tokens = 0, runs = 0;
  double busy_seconds = 0;  // time spent embedding
  size_t queued = 0;        // jobs waiting for the loop
};

// One request's inputs and, once the loop is done with them, its vectors or
// the reason it failed.
class EmbeddingJob {
 public:
  explicit EmbeddingJob(std::vector<EncoderInput> inputs) : inputs(std::move(inputs)) {}
  std::vector<EncoderInput> inputs;

  // The loop's side.
  void finish(std::vector<std::vector<float>> vectors, std::string error);
  // The HTTP side: true once finished; false when `deadline` passed first.
  bool wait(std::chrono::steady_clock::time_point deadline);
  void cancel();  // the loop skips a job whose client gave up
  bool cancelled() const;
  std::vector<std::vector<float>> vectors;  // after wait(): one per input
  std::string error;                        // after wait(): non-empty when it failed

 private:
  mutable std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false, cancelled_ = false;
};

// Runs the encoder over inputs in any order and returns their vectors in that
// order (embed_on_rank over this rank's encoder).
using EmbedFunction = std::function<std::vector<Embedding>(const std::vector<EncoderInput>& inputs)>;

class EmbeddingService {
 public:
  // `max_queue`: jobs waiting before submit() refuses. `max_inputs_per_run`:
  // inputs one run gathers from several jobs (a larger job runs alone).
  EmbeddingService(EmbedFunction embed, size_t max_queue, size_t max_inputs_per_run = kMaxEmbeddingInputs);
  EmbeddingService(const EmbeddingService&) = delete;
  EmbeddingService& operator=(const EmbeddingService&) = delete;

  // HTTP threads. False when the queue is full (answer 503) or stopping.
  bool submit(std::shared_ptr<EmbeddingJob> job, int64_t prompt_tokens);
  // The loop, on the encoder's thread; returns after stop(), failing every
  // job still queued.
  void run();
  void stop();
  EmbeddingStats stats() const;

 private:
  EmbedFunction embed_;
  size_t max_queue_, max_inputs_per_run_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<EmbeddingJob>> queue_;
  bool stopping_ = false;
  EmbeddingStats stats_;  // under mutex_
};

// POST /v1/embeddings: parse, queue, wait up to `timeout_s`, respond. Throws
// ApiError: 4xx for the request, 503 when the queue is full or the server
// stops, 500 when the run failed or timed out.
nlohmann::json serve_embeddings(EmbeddingService& service, const EmbeddingModel& model,
                                const nlohmann::json& body, double timeout_s);

// The Prometheus text of /metrics for an embedding server.
std::string embedding_metrics(const EmbeddingStats& stats, uint64_t request_errors, bool ready);

}  // namespace vkinfer::server
