// Sentence pooling of an encoder's final hidden states (sentence-transformers'
// Pooling, then optionally its Normalize), one workgroup per sequence.
#ifndef VKINFER_PARAMS_POOLING_H
#define VKINFER_PARAMS_POOLING_H
#include "params/common.h"

// Pooling modes, a bit each. Several may be set: their vectors are written
// one after another in increasing bit order, which is the order
// sentence-transformers' Pooling.forward concatenates them in.
#define POOL_CLS 1u            // the sequence's first row ([CLS])
#define POOL_MAX 2u            // max over the sequence's rows
#define POOL_MEAN 4u           // sum / count
#define POOL_MEAN_SQRT_LEN 8u  // sum / sqrt(count)
#define POOL_ALL_MODES 15u

VKINFER_PARAMS_BEGIN
#define POOLING_PARAMS_FIELDS                                                  \
  uint batch;         /* sequences */                                          \
  uint N;             /* hidden width */                                       \
  uint rows_per_seq;  /* rows between sequence starts (the bucket length) */   \
  uint x_offset;                                                               \
  uint x_stride;                                                               \
  uint y_offset;                                                               \
  uint y_stride;                                                               \
  uint modes;         /* POOL_* bits */                                        \
  uint normalize;     /* 1: divide the whole output row by max(|y|, 1e-12) */
#ifdef __cplusplus
struct PoolingParams { POOLING_PARAMS_FIELDS };
static_assert(sizeof(PoolingParams) <= 128);
#endif
VKINFER_PARAMS_END
#endif
