#include "tests/reference/attention_ref.h"

#include <algorithm>
#include <cmath>

namespace vkinfer::reference {

std::vector<float> attention(const std::vector<float>& q, const std::vector<float>& k,
                             const std::vector<float>& v, int64_t B, int64_t T, int64_t S,
                             int64_t H, int64_t KVH, int64_t D, int64_t past, bool causal,
                             const std::vector<uint32_t>& start, const std::vector<uint32_t>& end,
                             double scale, int64_t window) {
  std::vector<float> out(B * T * H * D, 0.0f);
  const int64_t group = H / KVH;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t kvh = h / group;
        int64_t lo = start[b];
        const int64_t hi = causal ? past + t + 1 : end[b];
        if (causal && window > 0) lo = std::max<int64_t>(lo, past + t - window);
        if (hi <= lo) continue;
        std::vector<double> scores(hi - lo);
        double max_score = -INFINITY;
        for (int64_t j = lo; j < hi; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d)
            s += double(q[(b * T + t) * H * D + h * D + d]) * k[(b * S + j) * KVH * D + kvh * D + d];
          scores[j - lo] = s * scale;
          max_score = std::max(max_score, scores[j - lo]);
        }
        double total = 0;
        for (double& s : scores) total += (s = std::exp(s - max_score));
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = lo; j < hi; ++j)
            acc += scores[j - lo] * v[(b * S + j) * KVH * D + kvh * D + d];
          out[(b * T + t) * H * D + h * D + d] = static_cast<float>(acc / total);
        }
      }
  return out;
}

}  // namespace vkinfer::reference
