// Perplexity and KL arithmetic on the host: see perplexity.h. Sums run in
// double, so a run of 10^6 tokens loses nothing to accumulation order.
#include "engine/runtime/perplexity.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/error.h"

namespace vkinfer {

PerplexityWindows plan_windows(int64_t tokens, int64_t ctx, int64_t max_windows) {
  if (ctx < 2)
    fail(ErrorCode::kInvalidArgument, "--ctx must be >= 2 for perplexity: a window scores its second half "
         "(got {})", ctx);
  if (tokens < ctx)
    fail(ErrorCode::kInvalidArgument, "the text tokenizes to {} tokens, fewer than one window of --ctx {}. "
         "HINT: lower --ctx or give a longer text", tokens, ctx);
  if (max_windows < 0) fail(ErrorCode::kInvalidArgument, "--chunks must be >= 0 (got {})", max_windows);
  PerplexityWindows windows;
  windows.ctx = ctx;
  windows.first = ctx / 2;
  windows.count = tokens / ctx;
  if (max_windows > 0) windows.count = std::min(windows.count, max_windows);
  return windows;
}

std::vector<int32_t> window_ids(const std::vector<int32_t>& ids, const PerplexityWindows& windows, int64_t w,
                                int32_t bos) {
  const auto begin = ids.begin() + w * windows.ctx;
  std::vector<int32_t> out(begin, begin + windows.ctx);
  if (bos >= 0) out[0] = bos;
  return out;
}

void log_softmax(const float* logits, int64_t n, float* out) {
  float top = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) top = std::max(top, logits[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - top);
  const double log_sum = std::log(sum) + top;
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(logits[i] - log_sum);
}

void RunningMean::add(double x) {
  max_ = n_ ? std::max(max_, x) : x;
  ++n_;
  sum_ += x;
  sum2_ += x * x;
}

double RunningMean::standard_error() const {
  if (n_ < 2) return 0.0;
  const double m = mean();
  const double variance = sum2_ / n_ - m * m;  // population variance, as llama-perplexity
  return variance > 0 ? std::sqrt(variance / (n_ - 1)) : 0.0;
}

PerplexityResult summarize_nll(const RunningMean& nll) {
  PerplexityResult result;
  result.tokens = nll.count();
  result.mean_nll = nll.mean();
  result.ppl = std::exp(result.mean_nll);
  result.ppl_error = result.ppl * nll.standard_error();
  return result;
}

void KlAccumulator::add(const float* base, const float* mine, int64_t vocab, int32_t target) {
  double kl = 0;
  int64_t base_top = 0, my_top = 0;
  for (int64_t v = 0; v < vocab; ++v) {
    const double base_log_p = base[v];
    // exp(-inf) = 0: a token the base gives no mass adds nothing.
    if (base_log_p > -std::numeric_limits<double>::infinity())
      kl += std::exp(base_log_p) * (base_log_p - static_cast<double>(mine[v]));
    if (base[v] > base[base_top]) base_top = v;
    if (mine[v] > mine[my_top]) my_top = v;
  }
  // Rounding can make a tiny KL negative; the divergence itself is not.
  kl_.add(std::max(kl, 0.0));
  same_top_.add(base_top == my_top ? 1.0 : 0.0);
  const double delta_p = std::exp(static_cast<double>(mine[target])) - std::exp(static_cast<double>(base[target]));
  delta_p_.add(delta_p);
  abs_delta_p_.add(std::abs(delta_p));
  delta_nll_.add(static_cast<double>(base[target]) - mine[target]);
}

KlAccumulator::Summary KlAccumulator::summary() const {
  Summary s;
  s.tokens = kl_.count();
  s.kl_mean = kl_.mean();
  s.kl_error = kl_.standard_error();
  s.kl_max = kl_.max();
  s.same_top = same_top_.mean();
  s.same_top_error = same_top_.standard_error();  // sqrt(p(1-p)/(n-1)) for 0/1 values
  s.delta_p_mean = delta_p_.mean();
  s.delta_p_error = delta_p_.standard_error();
  s.abs_delta_p_mean = abs_delta_p_.mean();
  s.abs_delta_p_max = abs_delta_p_.max();
  s.ppl_ratio = std::exp(delta_nll_.mean());
  s.ppl_ratio_error = s.ppl_ratio * delta_nll_.standard_error();
  return s;
}

}  // namespace vkinfer
