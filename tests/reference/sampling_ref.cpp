#include "tests/reference/sampling_ref.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

namespace vkinfer::reference {

std::vector<float> process_logits(const std::vector<float>& logits,
                                  const std::vector<int32_t>& seen, float penalty,
                                  float temperature) {
  std::vector<float> out = logits;
  for (float& x : out)
    if (std::isnan(x)) x = -std::numeric_limits<float>::infinity();
  // torch.gather + scatter: a repeated id reads the original score each
  // time and writes the same penalised value, so it is penalised once.
  if (penalty != 1.0f)
    for (int32_t id : std::set<int32_t>(seen.begin(), seen.end())) {
      float score = out[id];
      out[id] = score < 0 ? score * penalty : score / penalty;
    }
  if (temperature != 1.0f)
    for (float& x : out) x = x / temperature;
  return out;
}

int64_t argmax(const std::vector<float>& values) {
  int64_t best = 0;
  for (int64_t i = 1; i < int64_t(values.size()); ++i)
    if (values[i] > values[best]) best = i;
  return best;
}

std::vector<double> sampling_distribution(const std::vector<float>& processed, int top_k,
                                          float top_p) {
  const int64_t n = int64_t(processed.size());
  const double neg_inf = -std::numeric_limits<double>::infinity();
  std::vector<double> scores(processed.begin(), processed.end());
  std::vector<double> probs(n, 0.0);
  if (*std::max_element(scores.begin(), scores.end()) == neg_inf) {
    probs[argmax(processed)] = 1.0;
    return probs;
  }
  // TopKLogitsWarper: remove scores < the k-th largest (ties stay).
  if (top_k > 0) {
    int64_t k = std::min<int64_t>(top_k, n);
    std::vector<double> sorted = scores;
    std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<>());
    const double kth = sorted[k - 1];
    for (double& s : scores)
      if (s < kth) s = neg_inf;
  }
  auto softmax = [&](const std::vector<double>& s) {
    double m = *std::max_element(s.begin(), s.end()), sum = 0;
    std::vector<double> p(s.size());
    for (size_t i = 0; i < s.size(); ++i) sum += (p[i] = std::exp(s[i] - m));
    for (double& v : p) v /= sum;
    return p;
  };
  // TopPLogitsWarper: sort ascending, remove while the ascending cumulative
  // probability is <= 1 - top_p, always keep the last (largest) one.
  if (top_p < 1.0f) {
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    // Ascending; among ties the higher id first, so lower ids survive.
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return scores[a] < scores[b] || (scores[a] == scores[b] && a > b);
    });
    std::vector<double> p = softmax(scores);
    double cumulative = 0;
    std::vector<bool> remove(n, false);
    for (int64_t i = 0; i < n; ++i) {
      cumulative += p[order[i]];
      remove[order[i]] = cumulative <= 1.0 - double(top_p) && i != n - 1;
    }
    for (int64_t i = 0; i < n; ++i)
      if (remove[i]) scores[i] = neg_inf;
  }
  return softmax(scores);
}

std::vector<std::pair<int64_t, float>> top_candidates(const std::vector<float>& processed,
                                                      int64_t count) {
  std::vector<int64_t> order(processed.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return processed[a] > processed[b]; });
  std::vector<std::pair<int64_t, float>> out;
  for (int64_t i = 0; i < std::min<int64_t>(count, int64_t(order.size())); ++i)
    out.emplace_back(order[i], processed[order[i]]);
  return out;
}

std::vector<double> log_softmax(const std::vector<float>& logits) {
  const double inf = std::numeric_limits<double>::infinity();
  double max = -inf;
  for (float x : logits)
    if (!std::isnan(x)) max = std::max<double>(max, x);
  double sum = 0;
  for (float x : logits)
    if (!std::isnan(x) && x != -inf) sum += std::exp(double(x) - max);
  std::vector<double> out;
  for (float x : logits)
    out.push_back(std::isnan(x) || x == -inf || sum == 0 ? -inf : double(x) - max - std::log(sum));
  return out;
}

}  // namespace vkinfer::reference
