#include "server/embedding_service.h"

#include <fmt/core.h>

namespace vkinfer::server {

using Clock = std::chrono::steady_clock;

namespace {
// What a job still queued at stop() fails with: a 503, not a 500.
constexpr const char* kStopping = "the server is stopping";
}  // namespace

void EmbeddingJob::finish(std::vector<std::vector<float>> result, std::string failure) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    vectors = std::move(result);
    error = std::move(failure);
    done_ = true;
  }
  done_cv_.notify_all();
}

bool EmbeddingJob::wait(Clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  return done_cv_.wait_until(lock, deadline, [this] { return done_; });
}

void EmbeddingJob::cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
}

bool EmbeddingJob::cancelled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cancelled_;
}

EmbeddingService::EmbeddingService(EmbedFunction embed, size_t max_queue, size_t max_inputs_per_run)
    : embed_(std::move(embed)), max_queue_(max_queue), max_inputs_per_run_(max_inputs_per_run) {}

bool EmbeddingService::submit(std::shared_ptr<EmbeddingJob> job, int64_t prompt_tokens) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    ++stats_.requests;
    stats_.inputs += job->inputs.size();
    stats_.prompt_tokens += static_cast<uint64_t>(prompt_tokens);
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void EmbeddingService::run() {
  for (;;) {
    // Every queued job that fits one run (at least the first, whatever its size).
    std::vector<std::shared_ptr<EmbeddingJob>> jobs;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      size_t inputs = 0;
      while (!queue_.empty() &&
             (jobs.empty() || inputs + queue_.front()->inputs.size() <= max_inputs_per_run_)) {
        inputs += queue_.front()->inputs.size();
        if (!queue_.front()->cancelled()) jobs.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (jobs.empty()) continue;
    std::vector<EncoderInput> inputs;
    for (const auto& job : jobs)
      for (EncoderInput& input : job->inputs) inputs.push_back(std::move(input));
    const Clock::time_point start = Clock::now();
    std::vector<Embedding> embeddings;
    std::string error;
    try {
      embeddings = embed_(inputs);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error.empty() && embeddings.size() != inputs.size())
      error = fmt::format("internal error: {} vectors for {} inputs", embeddings.size(), inputs.size());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.busy_seconds += std::chrono::duration<double>(Clock::now() - start).count();
      ++stats_.runs;
    }
    size_t next = 0;
    for (const auto& job : jobs) {
      std::vector<std::vector<float>> vectors;
      if (error.empty())
        for (size_t i = 0; i < job->inputs.size(); ++i) vectors.push_back(std::move(embeddings[next++].values));
      job->finish(std::move(vectors), error);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& job : queue_) job->finish({}, kStopping);
  queue_.clear();
}

void EmbeddingService::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

EmbeddingStats EmbeddingService::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  EmbeddingStats s = stats_;
  s.queued = queue_.size();
  return s;
}

nlohmann::json serve_embeddings(EmbeddingService& service, const EmbeddingModel& model, const nlohmann::json& body,
                                double timeout_s) {
  EmbeddingRequest request = parse_embedding_request(body, model);
  const int64_t prompt_tokens = request.tokens();
  std::vector<EncoderInput> inputs;
  for (std::vector<int32_t>& ids : request.inputs) inputs.push_back({std::move(ids), {}});
  auto job = std::make_shared<EmbeddingJob>(std::move(inputs));
  if (!service.submit(job, prompt_tokens))
    throw ApiError(503, "the server is busy: its request queue is full. Retry later", "server_error", "queue_full");
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
  if (!job->wait(deadline)) {
    job->cancel();
    throw ApiError(500, fmt::format("the embeddings took longer than the server's --request-timeout ({} s)",
                                    timeout_s),
                   "server_error", "timeout");
  }
  if (job->error == kStopping) throw ApiError(503, job->error, "server_error", "stopping");
  if (!job->error.empty()) throw ApiError(500, job->error, "server_error");
  return embedding_response(model.name, job->vectors, request.base64, prompt_tokens);
}

std::string embedding_metrics(const EmbeddingStats& s, uint64_t request_errors, bool ready) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    out += fmt::format("# HELP vkinfer_{} {}\n# TYPE vkinfer_{} {}\nvkinfer_{} {}\n", name, help, name, type, name, value);
  };
  metric("requests_total", "counter", "Embedding requests admitted.", double(s.requests));
  metric("request_errors_total", "counter", "Requests refused with a 4xx before admission.", double(request_errors));
  metric("prompt_tokens_total", "counter", "Tokens embedded (with [CLS]/[SEP], after truncation).",
         double(s.prompt_tokens));
  metric("embedding_inputs_total", "counter", "Inputs (texts or token-id lists) admitted.", double(s.inputs));
  metric("embedding_runs_total", "counter", "Encoder runs (each gathers the queued requests that fit).",
         double(s.runs));
  metric("prompt_tokens_per_second", "gauge", "Tokens embedded per second of encoder runs.",
         s.busy_seconds > 0 ? double(s.prompt_tokens) / s.busy_seconds : 0.0);
  metric("queue_length", "gauge", "Requests waiting for the encoder.", double(s.queued));
  metric("ready", "gauge", "1 once the model is loaded.", ready ? 1.0 : 0.0);
  return out;
}

}  // namespace vkinfer::server
