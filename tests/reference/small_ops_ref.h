// Plain C++ references (double arithmetic) for the small ops: norm, softmax,
// elementwise, rotary, embedding, argmax. Matrices are dense row-major
// [M, N] host vectors; they follow torch / HF semantics, not the kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ops/activation.h"
#include "engine/ops/rotary.h"

namespace vkinfer::reference {

// torch.nn.LayerNorm (biased variance, eps inside the sqrt) or HF Llama
// RMSNorm of h = x (+ residual). gamma/beta may be null. When `h_out` is not
// null it receives h.
std::vector<float> norm(const std::vector<float>& x, const std::vector<float>* residual,
                        const std::vector<float>* gamma, const std::vector<float>* beta,
                        int64_t M, int64_t N, double eps, bool rms,
                        std::vector<float>* h_out = nullptr);

// softmax(scale * x + mask) per row; a row of all -inf gives zeros.
std::vector<float> softmax(const std::vector<float>& x, const std::vector<float>* mask,
                           int64_t M, int64_t N, double scale);

// act(alpha * a + beta * b), b may be null.
std::vector<float> elementwise(const std::vector<float>& a, const std::vector<float>* b,
                               double alpha, double beta, ops::Act act);

// Llama 3.1 rope_scaling ("llama3") when factor > 0, the op's own parameters:
// transformers' _compute_llama3_parameters applied to inv_freq, in fp32.
using RopeLlama3 = ops::RotaryArgs::Llama3;

// HF's fp32 RoPE angle: inv_freq = 1 / theta^(float(2i)/rotary_dim) in fp32,
// angle = (float(position) / position_divisor) * inv_freq rounded to fp32
// (what torch computes before calling cos/sin; the divisor is linear
// rope_scaling's factor).
float rope_angle_f32(uint32_t position, int pair, int rotary_dim, float theta,
                     float position_divisor = 1.0f, const RopeLlama3& llama3 = {});

// Rotates x in place: rows of `row_stride` elements, heads of head_dim from
// column 0, the first rotary_dim dims of each head; cos/sin in double of the
// fp32 angle above.
void rotary(std::vector<float>& x, const std::vector<uint32_t>& positions, int64_t row_stride,
            int num_heads, int head_dim, int rotary_dim, bool interleaved, float theta,
            float position_divisor = 1.0f, const RopeLlama3& llama3 = {});

// y[m] = scale * table[ids[m] - row_offset] (or y[m] += when accumulate);
// ids outside [row_offset, row_offset + rows) give 0 (or leave y[m]).
void embedding(const std::vector<float>& table, int64_t rows, int64_t cols,
               const std::vector<uint32_t>& ids, int64_t row_offset, double scale,
               bool accumulate, std::vector<float>& y);

// torch.argmax per row: first index of the maximum, NaN counts as largest.
std::vector<uint32_t> argmax(const std::vector<float>& x, int64_t M, int64_t N);

}  // namespace vkinfer::reference
