#include "engine/ops/sampling_params.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "shaders/params/sampling.h"

namespace vkinfer::ops {

void validate(const SamplingParams& params) {
  if (std::isnan(params.temperature) || params.temperature < 0.0f || std::isinf(params.temperature))
    fail(ErrorCode::kInvalidArgument,
         "sampling: temperature is {}, it must be a finite number >= 0 (0 = greedy)",
         params.temperature);
  if (params.top_k < 0)
    fail(ErrorCode::kInvalidArgument, "sampling: top_k is {}, it must be >= 0 (0 = off)",
         params.top_k);
  if (!(params.top_p > 0.0f && params.top_p <= 1.0f))
    fail(ErrorCode::kInvalidArgument, "sampling: top_p is {}, it must be in (0, 1] (1 = off)",
         params.top_p);
  if (!(params.repetition_penalty > 0.0f) || std::isinf(params.repetition_penalty))
    fail(ErrorCode::kInvalidArgument,
         "sampling: repetition_penalty is {}, it must be a finite number > 0 (1 = off)",
         params.repetition_penalty);
}

bool is_greedy(const SamplingParams& params) {
  return params.greedy || params.temperature == 0.0f;
}

uint32_t candidate_count(const SamplingParams& params, int64_t vocab_global) {
  if (is_greedy(params)) return 1;
  // 256 even for a smaller top_k: HF keeps every token tied with the k-th
  // logit, and the tie group can run past k.
  return static_cast<uint32_t>(
      std::clamp<int64_t>(vocab_global, 1, int64_t(SAMPLING_MAX_CANDIDATES)));
}

}  // namespace vkinfer::ops
