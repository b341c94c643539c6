// What one sequence samples with (transformers' generate() knobs), and the
// host-side checks of those values. Apart from the sampling kernels, so that
// request parsers (the server's, the CLI's) need no device code.
#pragma once

#include <cstdint>

namespace vkinfer::ops {

struct SamplingParams {
  bool greedy = true;          // also implied by temperature == 0
  float temperature = 1.0f;    // > 0 when sampling
  int top_k = 0;               // 0 = off
  float top_p = 1.0f;          // in (0, 1]; 1 = off
  float repetition_penalty = 1.0f;  // > 0; 1 = off
  uint64_t seed = 0;
};

// Throws kInvalidArgument naming the field and its allowed range.
void validate(const SamplingParams& params);
bool is_greedy(const SamplingParams& params);
// C: candidates each rank keeps per row (1 when greedy, else min(256, vocab)).
uint32_t candidate_count(const SamplingParams& params, int64_t vocab_global);

}  // namespace vkinfer::ops
