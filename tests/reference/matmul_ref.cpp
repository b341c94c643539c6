#include "tests/reference/matmul_ref.h"

#include <cmath>

#include "engine/core/half.h"

namespace vkinfer::reference {

double activation(double v, ops::Act act) {
  switch (act) {
    case ops::Act::kGeluErf: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case ops::Act::kGeluTanh:
      return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    case ops::Act::kRelu: return v > 0 ? v : 0;
    case ops::Act::kSilu: return v / (1.0 + std::exp(-v));
    case ops::Act::kTanh: return std::tanh(v);
    case ops::Act::kNone: return v;
  }
  return v;
}

std::vector<float> matmul(const std::vector<float>& x, const std::vector<float>& w,
                          const std::vector<float>* w_up, const std::vector<float>* bias,
                          const std::vector<float>* residual, int64_t M, int64_t N,
                          int64_t K, ops::Act act) {
  std::vector<float> y(M * N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0, acc_up = 0;
      for (int64_t k = 0; k < K; ++k) {
        acc += double(x[m * K + k]) * w[n * K + k];
        if (w_up) acc_up += double(x[m * K + k]) * (*w_up)[n * K + k];
      }
      if (bias) acc += (*bias)[n];
      double v = activation(acc, act);
      if (w_up) v *= acc_up;
      if (residual) v += (*residual)[m * N + n];
      y[m * N + n] = static_cast<float>(v);
    }
  return y;
}

std::vector<float> round_to_f16(const std::vector<float>& values) {
  std::vector<float> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = f16_to_f32(f32_to_f16(values[i]));
  return out;
}

}  // namespace vkinfer::reference
