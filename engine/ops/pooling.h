// Sentence pooling of an encoder's final hidden states, as
// sentence-transformers' Pooling (cls, max, mean, mean_sqrt_len; several
// concatenated) and Normalize modules compute it, on the device: only the
// [sequences, width] result crosses to the host. Each sequence pools the rows
// its seq_bounds entry marks real, so padding never enters a mean or a max.
#pragma once

#include <cstdint>

#include "engine/ops/policy.h"
#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"
#include "shaders/params/pooling.h"

namespace vkinfer::ops {

struct PoolingArgs {
  // Sequence s's row t at x.offset + (s * rows_per_seq + t) * x.stride, N wide.
  View x;
  const vk::Buffer* seq_bounds = nullptr;  // uint32 [batch][2]: rows [begin, end) pooled
  int64_t batch = 0;
  int64_t rows_per_seq = 0;
  int64_t N = 0;
  uint32_t modes = 0;      // POOL_* bits (shaders/params/pooling.h); at least one
  bool normalize = false;  // L2-normalize each output row (eps 1e-12)
  // Row s at y.offset + s * y.stride: one N-wide segment per mode, in bit
  // order (cls, max, mean, mean_sqrt_len).
  View y;
};

// Output width for `modes`: N per mode.
int64_t pooled_width(uint32_t modes, int64_t N);

void pooling(vk::CommandStream& stream, const PoolingArgs& args, const ReducePolicy& policy);

}  // namespace vkinfer::ops
