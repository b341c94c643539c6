// y = act(alpha * a + beta * b) over [M, N], one invocation per element.
#ifndef VKINFER_PARAMS_ELEMENTWISE_H
#define VKINFER_PARAMS_ELEMENTWISE_H
#include "params/common.h"

#define ELEMENTWISE_FLAG_B 1u
#define ELEMENTWISE_ACT_SHIFT 8u  // activation code in bits 8..15

VKINFER_PARAMS_BEGIN
#define ELEMENTWISE_PARAMS_FIELDS \
  uint M;                   \
  uint N;                   \
  uint a_offset;            \
  uint a_stride;            \
  uint b_offset;            \
  uint b_stride;            \
  uint y_offset;            \
  uint y_stride;            \
  uint flags;               \
  float alpha;              \
  float beta;
#ifdef __cplusplus
struct ElementwiseParams { ELEMENTWISE_PARAMS_FIELDS };
static_assert(sizeof(ElementwiseParams) <= 128);
#endif
VKINFER_PARAMS_END
#endif
