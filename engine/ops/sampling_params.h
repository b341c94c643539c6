// What one sequence samples with (transformers' generate() knobs), and the
// host-side checks of those values. Apart from the sampling kernels, so that
// request parsers (the server's, the CLI's) need no device code.
#pragma once

#include <cstdint>
#include <type_traits>

namespace vkinfer::ops {

struct SamplingParams {
  bool greedy = true;          // also implied by temperature == 0
  float temperature = 1.0f;    // > 0 when sampling
  int top_k = 0;               // 0 = off
  float top_p = 1.0f;          // in (0, 1]; 1 = off
  float repetition_penalty = 1.0f;  // > 0; 1 = off
  uint64_t seed = 0;
};

// The most alternatives a request may ask log-probabilities for
// (SAMPLING_MAX_LOGPROBS, checked against it where the kernels are built).
constexpr int kMaxTopLogprobs = 20;

// One sampled token's log-probabilities under the model's raw distribution
// (log-softmax of the logits before penalty, temperature, top-k and top-p,
// as OpenAI and vLLM report them): the token's own and the `count` most
// likely tokens', best first (lower id first on ties). A fixed-size record,
// so that steps pass it around without allocating.
struct TokenLogprobs {
  struct Entry {
    int32_t id = -1;
    float logprob = 0.0f;  // -inf for a token the model rules out (a -inf or NaN logit)
  };
  Entry chosen;
  int32_t count = 0;
  Entry top[kMaxTopLogprobs];
};
// Pipeline stages broadcast these records as bytes.
static_assert(std::is_trivially_copyable_v<TokenLogprobs>);

// Throws kInvalidArgument naming the field and its allowed range.
void validate(const SamplingParams& params);
bool is_greedy(const SamplingParams& params);
// C: candidates each rank keeps per row (1 when greedy, else min(256, vocab)).
uint32_t candidate_count(const SamplingParams& params, int64_t vocab_global);

}  // namespace vkinfer::ops
