// LayerNorm and RMSNorm over rows, with the residual add fused in front:
// one dispatch computes h = x + residual, stores h (the residual stream) and
// normalizes it, which on lavapipe saves a ~50 us dispatch per layer.
#pragma once

#include "engine/ops/policy.h"
#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"

namespace vkinfer::ops {

struct NormArgs {
  View x;         // [M, N]
  View residual;  // [M, N], optional: h = x + residual is what gets normalized
  View sum_out;   // [M, N], optional: receives h; may alias x or residual
  View gamma;     // [N] at gamma.offset, optional (absent = 1)
  View beta;      // [N] at beta.offset, optional (RMSNorm has none)
  View y;         // [M, N], may alias x
  int64_t M = 0, N = 0;
  float eps = 1e-5f;
  // false: torch LayerNorm (biased variance, eps inside the sqrt);
  // true: HF Llama RMSNorm, h * rsqrt(mean(h^2) + eps) * gamma.
  bool rms = false;
};

void norm(vk::CommandStream& stream, const NormArgs& args, const ReducePolicy& policy);

}  // namespace vkinfer::ops
