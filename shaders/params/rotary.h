// Rotary position embedding, in place on the first num_heads heads of each
// row. One invocation per rotated pair.
#ifndef VKINFER_PARAMS_ROTARY_H
#define VKINFER_PARAMS_ROTARY_H
#include "params/common.h"

#define ROTARY_FLAG_INTERLEAVED 1u
#define ROTARY_FLAG_LLAMA3 2u
// Each row's log2(theta) (hi, lo as float bits) follows its position in the
// positions buffer (dynamic rope_scaling: each sequence has its own base).
#define ROTARY_FLAG_ROW_THETA 4u

VKINFER_PARAMS_BEGIN
#define ROTARY_PARAMS_FIELDS \
  uint M;                \
  uint x_offset;         \
  uint x_stride;         \
  uint pos_offset;       \
  uint num_heads;        \
  uint head_dim;         \
  uint rotary_dim;       \
  uint flags;            \
  float log2_theta_hi;   \
  float log2_theta_lo;   \
  float position_divisor; \
  float llama3_factor;    \
  float low_freq_factor;  \
  float high_freq_factor; \
  float original_max_positions; \
  float low_freq_wavelen; \
  float high_freq_wavelen; \
  uint pos_stride;       /* uints between rows' positions */
#ifdef __cplusplus
struct RotaryParams { ROTARY_PARAMS_FIELDS };
static_assert(sizeof(RotaryParams) <= 128);
#endif
VKINFER_PARAMS_END
#endif
