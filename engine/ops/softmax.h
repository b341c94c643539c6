// Row softmax of scale * x + mask (attention probabilities, classifier
// heads). Numerically stable; a fully masked row (all -inf) gives zeros.
#pragma once

#include "engine/ops/policy.h"
#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"

namespace vkinfer::ops {

struct SoftmaxArgs {
  View x;  // [M, N]
  View y;  // [M, N], may alias x
  int64_t M = 0, N = 0;
  float scale = 1.0f;
  View mask;  // [M, N] additive fp32, optional; stride 0 broadcasts one row
};

void softmax(vk::CommandStream& stream, const SoftmaxArgs& args, const ReducePolicy& policy);

}  // namespace vkinfer::ops
