// Continuous batching for the server: HTTP threads submit requests into a
// bounded queue; one loop, on the engine's thread, admits them into the
// Scheduler between steps (so a new request joins the running batch at the
// next step, its prefill chunks mixed with the others' decode rows), runs
// each step, streams every sequence's tokens to its request, and retires a
// finished or abandoned sequence before the next step, freeing its KV slot.
// Each sequence samples with its own parameters and seed (the Engine's
// contract), so a request's tokens do not depend on what else runs.
//
// With several ranks (tp/pp threads, or MPI processes) every rank runs this
// loop over its own Engine, and the steps must be the same on all of them:
// global rank 0 leads. Before each step it broadcasts the step's orders
// (sequences to retire, requests to admit with their parameters, stop); every
// rank, the leader included, applies them in the same order and plans the
// same step. Only the leader holds the requests and hears the tokens' fate.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/parallel/communicator.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/scheduler.h"
#include "engine/text/tokenizer.h"
#include "server/serve_request.h"
#include "server/stop_matcher.h"

namespace vkinfer::server {

// Counters for /metrics (monotonic totals and current gauges).
struct BatcherStats {
  uint64_t requests = 0, prompt_tokens = 0, generated_tokens = 0;
  double busy_seconds = 0;  // time spent in steps
  size_t queued = 0, running = 0;
  int64_t kv_slots = 0, kv_slots_used = 0;
  int64_t kv_tokens = 0, kv_tokens_used = 0;  // positions of the page pool; written by running sequences
  int64_t kv_pages = 0, kv_pages_used = 0;    // pages of the pool; reserved by running sequences
};

class Batcher {
 public:
  // `tokenizer` may be null (ids only, no stop strings). `world`: every
  // rank's communicator when several ranks serve (rank 0 leads); null alone.
  // `step_rows` > 0 bounds the rows of one step (decode rows first, then
  // prefill chunks), so a burst of long prompts delays the running streams'
  // next tokens by at most that much work; at least one row per KV slot, at
  // most the engine's. 0: the engine's.
  Batcher(Engine& engine, const Tokenizer* tokenizer, size_t max_queue, Communicator* world = nullptr,
          int64_t step_rows = 0);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  bool leader() const { return leader_; }
  // HTTP threads (the leader's). False when the queue is full: answer 503.
  bool submit(std::shared_ptr<ServeRequest> request);
  // The loop; returns after stop() (on the leader; followers follow it).
  void run();
  void stop();
  BatcherStats stats() const;

 private:
  struct Live {
    uint64_t id = 0;
    std::shared_ptr<ServeRequest> request;  // the leader's only
    Sequence sequence;
    std::unique_ptr<StreamDecoder> text;
    std::unique_ptr<StopMatcher> stops;  // with `text`: the request's stop sequences
  };
  // One step's orders, as the leader decides them and every rank applies them.
  struct Orders {
    bool stop = false;
    std::vector<uint64_t> retire;
    struct Admit {
      uint64_t id = 0;
      std::vector<int32_t> prompt;
      ops::SamplingParams sampling;
      int64_t max_new_tokens = 0;
      int logprobs = -1;
    };
    std::vector<Admit> admit;
  };
  Orders lead();  // the leader: wait for work, then decide
  void share(Orders& orders);
  void apply(const Orders& orders);
  void accept(Live& live, int32_t token, const ops::TokenLogprobs& logprobs);
  void finish(Live& live, const std::string& reason);
  // The leader: every request not yet ended gets its "cancelled" event.
  void cancel_pending();

  Engine& engine_;
  const Tokenizer* tokenizer_;
  size_t max_queue_;
  Communicator* world_;
  bool leader_;
  Scheduler scheduler_;
  std::list<Live> live_;  // stable addresses: the Scheduler holds &sequence
  std::vector<uint64_t> finished_;  // the leader's: to retire before the next step
  std::vector<std::shared_ptr<ServeRequest>> admitted_;  // the leader's, matching Orders::admit
  uint64_t next_id_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<ServeRequest>> queue_;
  bool stopping_ = false;
  size_t scheduler_waiting_ = 0;  // admitted, no KV slot yet
  BatcherStats stats_;  // under mutex_
};

}  // namespace vkinfer::server
