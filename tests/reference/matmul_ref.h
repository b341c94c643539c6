// Plain C++ references (double accumulation) for the matmul op family.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ops/activation.h"

namespace vkinfer::reference {

double activation(double v, ops::Act act);

// y[m, n] = act(sum_k x[m,k] w[n,k] + b[n]) (* sum_k x w_up) (+ r[m, n])
std::vector<float> matmul(const std::vector<float>& x, const std::vector<float>& w,
                          const std::vector<float>* w_up, const std::vector<float>* bias,
                          const std::vector<float>* residual, int64_t M, int64_t N,
                          int64_t K, ops::Act act);

// Rounds every value through fp16, as fp16 weight storage does.
std::vector<float> round_to_f16(const std::vector<float>& values);

}  // namespace vkinfer::reference
