#include "engine/io/gguf_rope_freqs.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/error.h"

namespace vkinfer {
namespace {

constexpr double kTwoPi = 6.283185307179586;

std::vector<float> rope_freqs(double theta, int64_t head_dim) {
  std::vector<float> freqs(head_dim / 2);
  for (int64_t i = 0; i < head_dim / 2; ++i)
    freqs[i] = 1.0f / std::pow(static_cast<float>(theta), static_cast<float>(2 * i) / static_cast<float>(head_dim));
  return freqs;
}

// Integers stay integers: the rule is scale-free in (original, low, high),
// so the fit fixes low at 1 and real configs (8192, 1, 4) come out whole.
double snap(double value) {
  const double whole = std::round(value);
  return std::fabs(value - whole) < 1e-3 * std::max(1.0, std::fabs(whole)) ? whole : value;
}

}  // namespace

std::vector<float> llama3_rope_divisors(const Llama3RopeScaling& s, double theta, int64_t head_dim) {
  const double low_wavelen = s.original_max_positions / s.low_freq_factor;
  const double high_wavelen = s.original_max_positions / s.high_freq_factor;
  std::vector<float> out;
  for (float freq : rope_freqs(theta, head_dim)) {
    const double wavelen = kTwoPi / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      out.push_back(static_cast<float>(s.factor));
    } else {
      const double smooth = (s.original_max_positions / wavelen - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
      out.push_back(static_cast<float>(1.0 / ((1.0 - smooth) / s.factor + smooth)));
    }
  }
  return out;
}

std::optional<Llama3RopeScaling> llama3_rope_from_divisors(std::span<const float> divisors, double theta,
                                                           int64_t head_dim, const std::string& where) {
  if (head_dim < 2 || static_cast<int64_t>(divisors.size()) != head_dim / 2)
    fail(ErrorCode::kBadFile, "{}: rope_freqs.weight has {} values for a rotary head of {} dims", where,
         divisors.size(), head_dim);
  for (float d : divisors)
    if (!std::isfinite(d) || d < 1.0f)
      fail(ErrorCode::kBadFile, "{}: rope_freqs.weight holds {}, not a divisor >= 1", where, d);
  const double factor = *std::max_element(divisors.begin(), divisors.end());
  if (factor == 1.0) return std::nullopt;
  // In the blended band, smooth = (original / wavelen - low) / (high - low)
  // is linear in 1 / wavelen; with low = 1 a line through two or more band
  // points gives high and original.
  const std::vector<float> freqs = rope_freqs(theta, head_dim);
  double n = 0, su = 0, ss = 0, suu = 0, sus = 0;
  for (size_t i = 0; i < divisors.size(); ++i) {
    const double d = divisors[i];
    if (d <= 1.0 + 1e-6 || d >= factor * (1 - 1e-6)) continue;
    const double smooth = (1.0 / d - 1.0 / factor) / (1.0 - 1.0 / factor);
    const double u = freqs[i] / kTwoPi;
    n += 1; su += u; ss += smooth; suu += u * u; sus += u * smooth;
  }
  const double det = n * suu - su * su;
  if (n < 2 || det <= 0)
    fail(ErrorCode::kUnsupported, "{}: rope_freqs.weight has {} divisors between 1 and {}; vkinfer needs two or more "
         "to recover Llama 3's rope_scaling", where, static_cast<int>(n), factor);
  const double slope = (n * sus - su * ss) / det, intercept = (ss - slope * su) / n;
  Llama3RopeScaling s;
  s.factor = snap(factor);
  s.low_freq_factor = 1.0;
  s.high_freq_factor = snap(1.0 - 1.0 / intercept);
  s.original_max_positions = snap(slope * (s.high_freq_factor - 1.0));
  if (!(s.high_freq_factor > 1.0) || !(s.original_max_positions > 0))
    fail(ErrorCode::kUnsupported, "{}: rope_freqs.weight does not follow Llama 3's rope_scaling rule", where);
  const std::vector<float> again = llama3_rope_divisors(s, theta, head_dim);
  for (size_t i = 0; i < again.size(); ++i)
    if (std::fabs(again[i] - divisors[i]) > 1e-4f * divisors[i])
      fail(ErrorCode::kUnsupported, "{}: rope_freqs.weight[{}] is {} where Llama 3's rule (factor {}, high/low {}, "
           "original {} positions) gives {}", where, i, divisors[i], s.factor, s.high_freq_factor,
           s.original_max_positions, again[i]);
  return s;
}

}  // namespace vkinfer
