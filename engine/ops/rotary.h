// Rotary position embedding (RoPE), in place on q or k rows. The angle is
// computed in fp32 as HF does: inv_freq = theta^(-2i/rotary_dim), angle =
// float(position) * inv_freq.
#pragma once

#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"

namespace vkinfer::ops {

struct RotaryArgs {
  View x;  // [M, >= num_heads*head_dim]; the stride may be a fused q|k|v row
  int64_t M = 0;
  int num_heads = 0;   // heads rotated, starting at x.offset
  int head_dim = 0;
  int rotary_dim = 0;  // leading dims of each head that rotate (even, <= head_dim)
  // false: HF rotate_half, pairs (i, i + rotary_dim/2) (Llama, NeoX, Phi);
  // true: GPT-J rotate_every_two, pairs (2i, 2i+1).
  bool interleaved = false;
  float theta = 10000.0f;
  float position_divisor = 1.0f;  // linear rope_scaling's factor
  // Llama 3.1 rope_scaling ("llama3"); factor 0 = off.
  struct Llama3 {
    float factor = 0.0f;
    float low_freq_factor = 0.0f;
    float high_freq_factor = 0.0f;
    float original_max_positions = 0.0f;
  } llama3;
  View positions;  // uint32 per row: positions.buffer[positions.offset + m * stride]
  // Each row's log2(theta) follows its position (words +1, +2: hi, lo from
  // split_log2_theta, as float bits), overriding `theta`: a packed step of
  // sequences whose dynamic rope_scaling bases differ. Needs stride >= 3.
  bool row_theta = false;
};

// log2(theta) to ~48 bits as hi + lo: the shader's exponent e*log2(theta)
// then carries no more error than fp32 rounding of the product itself.
void split_log2_theta(float theta, float& hi, float& lo);

void rotary(vk::CommandStream& stream, const RotaryArgs& args);

}  // namespace vkinfer::ops
