// First index of the maximum of each row, one row per workgroup.
#ifndef VKINFER_PARAMS_ARGMAX_H
#define VKINFER_PARAMS_ARGMAX_H
#include "params/common.h"

VKINFER_PARAMS_BEGIN
#define ARGMAX_PARAMS_FIELDS \
  uint M;                \
  uint N;                \
  uint x_offset;         \
  uint x_stride;         \
  uint out_offset;
#ifdef __cplusplus
struct ArgmaxParams { ARGMAX_PARAMS_FIELDS };
static_assert(sizeof(ArgmaxParams) <= 128);
#endif
VKINFER_PARAMS_END
#endif
