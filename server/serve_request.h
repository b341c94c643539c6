// One HTTP request's generation, shared between the HTTP thread that made it
// and the batcher that runs it: the request's parameters, and a channel of
// events (each new token with the text that became final with it, then one
// last event with the finish reason). The HTTP thread waits on the channel;
// a client that goes away cancels, and the batcher drops the sequence (and
// frees its KV slot) at its next step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "engine/ops/sampling_params.h"

namespace vkinfer::server {

struct ServeEvent {
  int32_t token = -1;          // -1 on the final event
  std::string text;            // text final with this token (UTF-8 complete)
  bool done = false;
  std::string finish_reason;   // on the final event: "stop", "length" or "cancelled"
  // The request asked for logprobs and this token is reported: its raw
  // log-probabilities (token events only).
  bool has_logprobs = false;
  ops::TokenLogprobs logprobs;
};

class ServeRequest {
 public:
  // The request.
  std::vector<int32_t> prompt;
  ops::SamplingParams sampling;
  int64_t max_new_tokens = 16;
  std::vector<std::string> stop;
  // -1: no logprobs; 0..20: the sampled token's and that many alternatives'.
  int logprobs = -1;

  // Batcher side.
  void push(ServeEvent event) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.push_back(std::move(event));
    }
    ready_.notify_all();
  }

  // HTTP side: moves the events so far into `out`, waiting up to `timeout`
  // for the first one. False when none came in time.
  bool wait(std::vector<ServeEvent>& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, timeout, [&] { return !events_.empty(); })) return false;
    out.insert(out.end(), std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
    events_.clear();
    return true;
  }

  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<ServeEvent> events_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace vkinfer::server
