// Y = act(X . W^T + b) [* (X . W_up^T) for GLU] [+ R]: every linear layer.
// Small M goes to the GEMV kernel, larger M to the register-tiled GEMM;
// weights split into row chunks are handled one dispatch per chunk.
#pragma once

#include <optional>

#include "engine/ops/activation.h"
#include "engine/ops/policy.h"
#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"

namespace vkinfer::ops {

struct MatmulArgs {
  View x;                        // [M, K]
  int64_t M = 0;
  const Weight* weight = nullptr;     // [N, K]
  const Weight* weight_up = nullptr;  // GLU: out = act(X.W) * (X.W_up)
  View bias;                     // [N] at bias.offset, optional
  View residual;                 // [M, N], optional, may alias y
  View y;                        // [M, N]
  Act act = Act::kNone;
  // Only output columns [n_begin, n_end) (weight rows) are computed; n_end 0
  // means all. Used by the LM head to skip work.
  int64_t n_begin = 0, n_end = 0;
};

enum class MatmulKind { kAuto, kVec, kTiled };

void matmul(vk::CommandStream& stream, const MatmulArgs& args, const MatmulPolicy& policy,
            MatmulKind kind = MatmulKind::kAuto);

}  // namespace vkinfer::ops
