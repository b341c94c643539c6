// One generation request and its state, owned by whoever submitted it (the
// Generator, later the server). The Scheduler decides when it runs and lends
// it a KV-cache slot; the Engine feeds its tokens and samples for it with its
// own SamplingParams and step counter, so its tokens never depend on what
// else runs at the same time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/ops/sampling.h"

namespace vkinfer {

struct Sequence {
  // The request.
  std::vector<int32_t> prompt;
  ops::SamplingParams sampling;
  int64_t max_new_tokens = 64;
  // -1: no log-probabilities. 0..20: each step also reports the sampled
  // token's raw log-probability and the top `logprobs` alternatives
  // (Engine::logprobs()), at one more dispatch per token.
  int logprobs = -1;
  // Dynamic rope_scaling: extra positions transformers would count for this
  // sequence (the left padding of a batched generate() call it emulates);
  // 0 for a sequence on its own.
  int64_t rope_extra = 0;

  // State.
  int slot = -1;                   // KV-cache slot while running
  int64_t fed = 0;                 // tokens in the cache (prompt first, then generated)
  std::vector<int32_t> generated;  // sampled tokens; generated.size() keys the RNG
  bool finished = false;
  std::string finish_reason;       // "eos", "length", "stop"

  int64_t prompt_length() const { return static_cast<int64_t>(prompt.size()); }
  bool prefilling() const { return fed < prompt_length(); }
};

// Rows of one sequence in the next step: a prefill chunk, or 1 when decoding.
struct ScheduledRows {
  Sequence* sequence = nullptr;
  int64_t rows = 0;
};

}  // namespace vkinfer
