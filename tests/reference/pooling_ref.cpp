#include "tests/reference/pooling_ref.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vkinfer::reference {

std::vector<float> pooling(const std::vector<float>& x, const std::vector<int64_t>& lengths,
                           int64_t T, int64_t N, PoolingModes modes, bool normalize) {
  const int64_t batch = static_cast<int64_t>(lengths.size());
  std::vector<float> out;
  for (int64_t s = 0; s < batch; ++s) {
    auto at = [&](int64_t t, int64_t c) { return double(x[(s * T + t) * N + c]); };
    const double count = std::max(double(lengths[s]), 1e-9);
    std::vector<double> cls(N), top(N), sum(N, 0.0);
    for (int64_t c = 0; c < N; ++c) {
      cls[c] = at(0, c);
      top[c] = -std::numeric_limits<double>::infinity();
      for (int64_t t = 0; t < lengths[s]; ++t) {
        top[c] = std::max(top[c], at(t, c));
        sum[c] += at(t, c);
      }
    }
    std::vector<double> row;
    if (modes.cls) row.insert(row.end(), cls.begin(), cls.end());
    if (modes.max) row.insert(row.end(), top.begin(), top.end());
    if (modes.mean)
      for (double v : sum) row.push_back(v / count);
    if (modes.mean_sqrt_len)
      for (double v : sum) row.push_back(v / std::sqrt(count));
    double squares = 0;
    for (double v : row) squares += v * v;
    const double scale = normalize ? 1.0 / std::max(std::sqrt(squares), 1e-12) : 1.0;
    for (double v : row) out.push_back(static_cast<float>(v * scale));
  }
  return out;
}

}  // namespace vkinfer::reference
