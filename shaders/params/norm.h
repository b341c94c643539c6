// LayerNorm / RMSNorm of one row per workgroup, with an optional fused
// residual add (h = x + r, optionally stored to sum_out) in front.
// Offsets and strides are in elements of the bound buffers.
#ifndef VKINFER_PARAMS_NORM_H
#define VKINFER_PARAMS_NORM_H
#include "params/common.h"

#define NORM_FLAG_RMS 1u
#define NORM_FLAG_RESIDUAL 2u
#define NORM_FLAG_SUM_OUT 4u
#define NORM_FLAG_GAMMA 8u
#define NORM_FLAG_BETA 16u

VKINFER_PARAMS_BEGIN
#define NORM_PARAMS_FIELDS \
  uint M;              \
  uint N;              \
  uint x_offset;       \
  uint x_stride;       \
  uint r_offset;       \
  uint r_stride;       \
  uint s_offset;       \
  uint s_stride;       \
  uint gamma_offset;   \
  uint beta_offset;    \
  uint y_offset;       \
  uint y_stride;       \
  uint flags;          \
  float eps;
#ifdef __cplusplus
struct NormParams { NORM_PARAMS_FIELDS };
static_assert(sizeof(NormParams) <= 128);
#endif
VKINFER_PARAMS_END
#endif
