// Plain C++ reference (double arithmetic) for sentence pooling, written from
// sentence-transformers' Pooling.forward and Normalize, not from the kernel:
// the attention mask is 1 on a sequence's first `lengths[s]` rows; cls takes
// row 0, max the masked maximum, mean sum / clamp(count, 1e-9),
// mean_sqrt_len sum / sqrt(clamp(count, 1e-9)); the enabled modes are
// concatenated in the order cls, max, mean, mean_sqrt_len; normalize divides
// by max(||y||_2, 1e-12).
#pragma once

#include <cstdint>
#include <vector>

namespace vkinfer::reference {

struct PoolingModes {
  bool cls = false, max = false, mean = false, mean_sqrt_len = false;
};

// x: [batch * T, N] row-major; returns [batch, modes * N].
std::vector<float> pooling(const std::vector<float>& x, const std::vector<int64_t>& lengths,
                           int64_t T, int64_t N, PoolingModes modes, bool normalize);

}  // namespace vkinfer::reference
