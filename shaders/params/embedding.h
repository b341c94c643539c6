// Gathers table rows for one chunk of a row-chunked weight: row m of y gets
// table row ids[m] - row_offset when it falls in this chunk.
#ifndef VKINFER_PARAMS_EMBEDDING_H
#define VKINFER_PARAMS_EMBEDDING_H
#include "params/common.h"

#define EMBEDDING_FLAG_ACCUMULATE 1u
#define EMBEDDING_FLAG_ZERO_OUTSIDE 2u  // write 0 for ids outside the whole table

VKINFER_PARAMS_BEGIN
#define EMBEDDING_PARAMS_FIELDS \
  uint M;                   \
  uint N;                   \
  uint ids_offset;          \
  uint y_offset;            \
  uint y_stride;            \
  uint w_stride;            \
  uint row_offset;          \
  uint table_rows;          \
  uint chunk_begin;         \
  uint chunk_rows;          \
  uint flags;               \
  float scale;
#ifdef __cplusplus
struct EmbeddingParams { EMBEDDING_PARAMS_FIELDS };
static_assert(sizeof(EmbeddingParams) <= 128);
#endif
VKINFER_PARAMS_END
#endif
