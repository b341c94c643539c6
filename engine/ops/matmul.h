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

// X holds a norm's input rather than its output (decode, where a norm's own
// dispatch costs more than its work): the kernel takes each row's mean and
// variance while it reads X, multiplies X by the gain as it goes, and
// finishes LayerNorm in the epilogue as rstd * (s - mean * W.gamma) + W.beta,
// with the weight rows' sums W.gamma and W.beta precomputed (norm_sums).
struct InputNorm {
  View gamma;        // [K]
  // LayerNorm only: rows [W.gamma; W.beta] (then the same for GLU's up
  // weight), each [N] at sums.offset + row * sums.stride.
  View sums;
  float eps = 1e-5f;
  bool rms = false;  // RMSNorm: no mean, no bias, no sums
};

struct MatmulArgs {
  View x;                        // [M, K]
  int64_t M = 0;
  const Weight* weight = nullptr;     // [N, K]
  const Weight* weight_up = nullptr;  // GLU: out = act(X.W) * (X.W_up)
  View bias;                     // [N] at bias.offset, optional
  View residual;                 // [M, N], optional, may alias y
  View y;                        // [M, N]
  Act act = Act::kNone;
  const InputNorm* input_norm = nullptr;
  // Only output columns [n_begin, n_end) (weight rows) are computed; n_end 0
  // means all. Used by the LM head to skip work.
  int64_t n_begin = 0, n_end = 0;
};

enum class MatmulKind { kAuto, kVec, kTiled };

void matmul(vk::CommandStream& stream, const MatmulArgs& args, const MatmulPolicy& policy,
            MatmulKind kind = MatmulKind::kAuto);

// Which pipeline a matmul of M rows over K columns picks (kAuto), as a
// number: equal numbers mean the same kernel for the same weight and
// epilogue. Models use it at load to find the row counts whose pipelines
// they must prepare (see Decoder::prepare_pipelines).
uint32_t matmul_row_class(int64_t M, int64_t K, const MatmulPolicy& policy);

// Fills InputNorm::sums for `weight` (and `weight_up`) and a LayerNorm with
// gain `gamma` and bias `beta` ([K] each; an absent beta is zero): `sums`
// gets [2, N] rows (4 with weight_up), computed by the device's own matmul
// on its own weights straight from the norm's tensors.
void norm_sums(vk::CommandStream& stream, const Weight& weight, const Weight* weight_up,
               View gamma, View beta, View sums, const MatmulPolicy& policy);

}  // namespace vkinfer::ops
