// Continuous batching for the server: HTTP threads submit requests into a
// bounded queue; one loop, on the engine's thread, admits them into the
// Scheduler between steps (so a new request joins the running batch at the
// next step, its prefill chunks mixed with the others' decode rows), runs
// each step, streams every sequence's tokens to its request, and retires a
// finished or abandoned sequence at once, freeing its KV slot. Each sequence
// samples with its own parameters and seed (the Engine's contract), so a
// request's tokens do not depend on what else runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>

#include "engine/runtime/engine.h"
#include "engine/runtime/scheduler.h"
#include "engine/text/tokenizer.h"
#include "server/serve_request.h"

namespace vkinfer::server {

// Counters for /metrics (monotonic totals and current gauges).
struct BatcherStats {
  uint64_t requests = 0, prompt_tokens = 0, generated_tokens = 0;
  double busy_seconds = 0;  // time spent in steps
  size_t queued = 0, running = 0;
  int64_t kv_slots = 0, kv_slots_used = 0;
  int64_t kv_tokens = 0, kv_tokens_used = 0;  // positions held in the cache
};

class Batcher {
 public:
  // `tokenizer` may be null (ids only, no stop strings).
  Batcher(Engine& engine, const Tokenizer* tokenizer, size_t max_queue);

  // HTTP threads. False when the queue is full: the caller answers 503.
  bool submit(std::shared_ptr<ServeRequest> request);
  // The loop; returns after stop(). Runs on the thread that owns the engine.
  void run();
  // Ends the loop: every queued and running request ends "cancelled".
  void stop();
  BatcherStats stats() const;

 private:
  struct Live {
    std::shared_ptr<ServeRequest> request;
    Sequence sequence;
    std::unique_ptr<StreamDecoder> text;
    std::string emitted;  // text sent so far (stop strings are matched on it)
  };
  void admit(std::deque<std::shared_ptr<ServeRequest>>& incoming);
  void accept(Live& live, int32_t token);
  void finish(Live& live, const std::string& reason);

  Engine& engine_;
  const Tokenizer* tokenizer_;
  size_t max_queue_;
  Scheduler scheduler_;
  std::list<Live> live_;  // stable addresses: the Scheduler holds &sequence

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<ServeRequest>> queue_;
  bool stopping_ = false;
  size_t scheduler_waiting_ = 0;  // admitted, no KV slot yet
  BatcherStats stats_;  // under mutex_
};

}  // namespace vkinfer::server
