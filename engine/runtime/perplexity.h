// The host-side arithmetic of `vkinfer perplexity`, kept apart from the CLI
// so it can be tested without a device: llama-perplexity's windowing, the
// log-softmax of one logits row, and the running statistics of a run
// (negative log-likelihood) and of a comparison against a saved base run
// (KL divergence, top-1 agreement, the correct token's probability change).
//
// Windowing, as llama-perplexity does it: the text's ids are cut into
// non-overlapping windows of N ids (a short tail is dropped); each window
// is evaluated from an empty KV cache, and the logits at positions
// F = N/2 .. N - 2 score the ids at F + 1 .. N - 1 (N - 1 - F tokens per
// window), so every scored token has at least N/2 tokens of context. When
// the tokenizer adds BOS, the text is tokenized with BOS in front and each
// window's first id is replaced by BOS (never scored).
#pragma once

#include <cstdint>
#include <vector>

namespace vkinfer {

struct PerplexityWindows {
  int64_t ctx = 0;      // N: ids per window
  int64_t first = 0;    // F = N / 2: the first predicting position
  int64_t count = 0;    // windows evaluated
  int64_t scored_per_window() const { return ctx - 1 - first; }
  int64_t scored() const { return count * scored_per_window(); }
};

// kInvalidArgument when ctx < 2 or the text holds less than one window.
// max_windows > 0 caps the count (--chunks).
PerplexityWindows plan_windows(int64_t tokens, int64_t ctx, int64_t max_windows);

// Window w's ids as evaluated: ids[w*N .. w*N + N), the first replaced by
// `bos` when bos >= 0.
std::vector<int32_t> window_ids(const std::vector<int32_t>& ids, const PerplexityWindows& windows, int64_t w,
                                int32_t bos);

// out[i] = logits[i] - log(sum_j exp(logits[j])), accumulated in double.
void log_softmax(const float* logits, int64_t n, float* out);

// Mean of a series with llama-perplexity's uncertainty: the standard error
// sqrt(var / (n - 1)), var the population variance; 0 with fewer than two.
class RunningMean {
 public:
  void add(double x);
  int64_t count() const { return n_; }
  double mean() const { return n_ ? sum_ / n_ : 0.0; }
  double standard_error() const;
  double max() const { return max_; }

 private:
  int64_t n_ = 0;
  double sum_ = 0, sum2_ = 0, max_ = 0;
};

// PPL = exp(mean NLL) +/- PPL * se(NLL), as llama-perplexity reports it.
struct PerplexityResult {
  int64_t tokens = 0;
  double mean_nll = 0, ppl = 0, ppl_error = 0;
};
PerplexityResult summarize_nll(const RunningMean& nll);

// One run against a saved base, per scored token: KL(base || this) =
// sum_v p_base(v) (log p_base(v) - log p(v)); whether both put the same id
// on top; the correct token's p - p_base; and nll - nll_base (whose mean
// is log(PPL / PPL_base)).
class KlAccumulator {
 public:
  void add(const float* base_log_probs, const float* log_probs, int64_t vocab, int32_t target);

  struct Summary {
    int64_t tokens = 0;
    double kl_mean = 0, kl_error = 0, kl_max = 0;
    double same_top = 0, same_top_error = 0;                  // fractions in [0, 1]
    double delta_p_mean = 0, delta_p_error = 0;               // p - p_base of the correct token
    double abs_delta_p_mean = 0, abs_delta_p_max = 0;
    double ppl_ratio = 0, ppl_ratio_error = 0;                // PPL / PPL_base
  };
  Summary summary() const;

 private:
  RunningMean kl_, same_top_, delta_p_, abs_delta_p_, delta_nll_;
};

}  // namespace vkinfer
