#include "tests/support/compare.h"

#include <cmath>
#include <random>
#include <sstream>

namespace vkinfer::testing {

::testing::AssertionResult expect_close_impl(const std::vector<float>& ref,
                                             const std::vector<float>& got, double atol,
                                             double rtol) {
  if (ref.size() != got.size())
    return ::testing::AssertionFailure() << "size mismatch: ref " << ref.size() << " got " << got.size();
  double max_abs = 0, max_rel = 0;
  size_t bad = 0;
  std::ostringstream first;
  for (size_t i = 0; i < ref.size(); ++i) {
    double diff = std::fabs(double(got[i]) - double(ref[i]));
    if (!std::isfinite(got[i])) diff = INFINITY;
    max_abs = std::max(max_abs, diff);
    if (ref[i] != 0) max_rel = std::max(max_rel, diff / std::fabs(double(ref[i])));
    if (!(diff <= atol + rtol * std::fabs(double(ref[i])))) {
      if (bad < 5) first << "\n  [" << i << "] ref " << ref[i] << " got " << got[i];
      ++bad;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << ref.size()
                                       << " elements out of tolerance (atol " << atol
                                       << ", rtol " << rtol << "); max abs err " << max_abs
                                       << ", max rel err " << max_rel << first.str();
}

double nmse(const std::vector<float>& ref, const std::vector<float>& got) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size() && i < got.size(); ++i) {
    num += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return den > 0 ? num / den : num;
}

std::vector<float> random_vector(size_t count, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> out(count);
  for (auto& v : out) v = dist(rng);
  return out;
}

}  // namespace vkinfer::testing
