// y = act(alpha * a + beta * b) over [M, N]: residual adds, scaling and
// standalone activations (GELU erf/tanh, SiLU, ReLU, tanh) in one kernel.
#pragma once

#include "engine/ops/activation.h"
#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"

namespace vkinfer::ops {

struct ElementwiseArgs {
  View a;  // [M, N]
  View b;  // [M, N], optional (absent: y = act(alpha * a))
  View y;  // [M, N], may alias a or b
  int64_t M = 0, N = 0;
  float alpha = 1.0f, beta = 1.0f;
  Act act = Act::kNone;
};

void elementwise(vk::CommandStream& stream, const ElementwiseArgs& args);

}  // namespace vkinfer::ops
