// Row softmax of scale * x + mask, one row per workgroup.
#ifndef VKINFER_PARAMS_SOFTMAX_H
#define VKINFER_PARAMS_SOFTMAX_H
#include "params/common.h"

#define SOFTMAX_FLAG_MASK 1u

VKINFER_PARAMS_BEGIN
#define SOFTMAX_PARAMS_FIELDS \
  uint M;               \
  uint N;               \
  uint x_offset;        \
  uint x_stride;        \
  uint mask_offset;     \
  uint mask_stride;     \
  uint y_offset;        \
  uint y_stride;        \
  uint flags;           \
  float scale;
#ifdef __cplusplus
struct SoftmaxParams { SOFTMAX_PARAMS_FIELDS };
static_assert(sizeof(SoftmaxParams) <= 128);
#endif
VKINFER_PARAMS_END
#endif
