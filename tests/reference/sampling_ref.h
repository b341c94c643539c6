// Plain C++ reference for token sampling: transformers 4.40.2's processor
// chain (RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
// TopKLogitsWarper, TopPLogitsWarper with min_tokens_to_keep = 1) written the
// way HF writes it, with probabilities in double precision.
#pragma once

#include <cstdint>
#include <vector>

namespace vkinfer::reference {

// Penalty then temperature, in float32 as HF runs them. Each id in `seen`
// is penalised once, however often it occurs. NaN becomes -inf (vkinfer's
// documented choice; torch would propagate it).
std::vector<float> process_logits(const std::vector<float>& logits,
                                  const std::vector<int32_t>& seen, float penalty,
                                  float temperature);

// torch.argmax: the first index of the maximum.
int64_t argmax(const std::vector<float>& values);

// The distribution multinomial() draws from after top-k (0 = off) and top-p
// (1 = off): 0 for every filtered token. Tied logits at the top-p boundary
// are kept lower id first (torch's unstable sort leaves that order open).
// A row without a finite logit puts everything on its argmax.
std::vector<double> sampling_distribution(const std::vector<float>& processed, int top_k,
                                          float top_p);

// The top `count` (id, logit) pairs, logit descending, lower id first on ties.
std::vector<std::pair<int64_t, float>> top_candidates(const std::vector<float>& processed,
                                                      int64_t count);

// log_softmax of the raw logits in double (what logprobs report): NaN
// counts as -inf; a row without a finite logit is -inf everywhere.
std::vector<double> log_softmax(const std::vector<float>& logits);

}  // namespace vkinfer::reference
