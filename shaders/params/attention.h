// Fused attention: out[row, head] = softmax(scale * q . K^T over the row's
// visible keys) . V, with K/V addressed by strides so the same kernel reads a
// KV cache [B][kv_heads][ctx][D], a paged one (common/kv_pages.glsl), or the
// fused qkv rows of an encoder.
// Every K/V addressing below (kv_* and the page fields) means what
// common/kv_pages.glsl says: page_shift 0 is an unpaged layout.
#define KV_PAGE_PARAMS_FIELDS \
  uint page_shift;      /* log2 positions per page; 0: unpaged */  \
  uint pages_per_seq;   /* page-table entries per sequence */       \
  uint kv_first_seq;    /* table row (or block) of sequence 0 */
#ifndef VKINFER_PARAMS_ATTENTION_H
#define VKINFER_PARAMS_ATTENTION_H
#include "params/common.h"

VKINFER_PARAMS_BEGIN
#define ATTENTION_PARAMS_FIELDS \
  uint group;           /* q heads per kv head */                  \
  uint rows_per_seq;    /* query rows of each sequence */          \
  uint q_offset;                                                   \
  uint q_stride;                                                   \
  uint o_offset;                                                   \
  uint o_stride;                                                   \
  uint k_offset;                                                   \
  uint v_offset;                                                   \
  uint kv_seq_stride;                                              \
  uint kv_head_stride;                                             \
  uint kv_pos_stride;                                              \
  uint past;            /* key position of the first query row */  \
  uint causal;                                                     \
  float scale;                                                     \
  uint fresh_offset;    /* FRESH: k head 0 of row 0 in fused qkv */ \
  uint fresh_stride;                                               \
  uint fresh_v_delta;   /* v = k + this many elements */           \
  uint packed;          /* 1: binding 3 is a row table (below) */  \
  KV_PAGE_PARAMS_FIELDS
#ifdef __cplusplus
struct AttentionParams { ATTENTION_PARAMS_FIELDS };
static_assert(sizeof(AttentionParams) <= 128);
#endif

// Prefill attention as two GEMMs over one block of query rows of every
// (sequence, head): SCORES writes S = scale * Q.K^T with masked keys at
// -inf, a row softmax turns S into P in place, MIX writes O = P.V. S rows
// are [(seq * heads + head) * rows + row][s_stride].
#define ATTENTION_GEMM_PARAMS_FIELDS \
  uint heads;                                                      \
  uint group;           /* q heads per kv head */                  \
  uint rows;            /* query rows in this block */             \
  uint row0;            /* the block's first row in its sequence */ \
  uint rows_per_seq;                                               \
  uint keys;            /* key positions in each S row */          \
  uint past;                                                       \
  uint causal;                                                     \
  uint q_offset;                                                   \
  uint q_stride;                                                   \
  uint kv_offset;       /* K (SCORES) or V (MIX) */                \
  uint kv_seq_stride;                                              \
  uint kv_head_stride;                                             \
  uint kv_pos_stride;                                              \
  uint s_offset;                                                   \
  uint s_stride;                                                   \
  uint o_offset;                                                   \
  uint o_stride;                                                   \
  uint head_dim;                                                   \
  float scale;                                                     \
  uint window;          /* causal sliding window; 0: none */       \
  KV_PAGE_PARAMS_FIELDS
#ifdef __cplusplus
struct AttentionGemmParams { ATTENTION_GEMM_PARAMS_FIELDS };
static_assert(sizeof(AttentionGemmParams) <= 128);
#endif

// kv_store: copies the k and v parts of fused qkv rows into the cache.
#define KV_STORE_PARAMS_FIELDS \
  uint rows;            /* B * T */                                \
  uint rows_per_seq;                                               \
  uint kv_heads;                                                   \
  uint head_dim;                                                   \
  uint src_offset;      /* element of k head 0 in row 0 */        \
  uint src_stride;                                                 \
  uint v_src_delta;     /* v = k + this many elements */           \
  uint kv_seq_stride;                                              \
  uint kv_head_stride;                                             \
  uint kv_pos_stride;                                              \
  uint past;                                                       \
  uint packed;          /* 1: slot and position from the row table */ \
  KV_PAGE_PARAMS_FIELDS
#ifdef __cplusplus
struct KvStoreParams { KV_STORE_PARAMS_FIELDS };
static_assert(sizeof(KvStoreParams) <= 128);
#endif
// A packed step batch (decoders): rows of several sequences back to back,
// each sequence with its own KV-cache slot and its own cached length. Row r
// of the step is described by ATTENTION_ROW_WORDS uints at r * WORDS:
#define ATTENTION_ROW_WORDS 8u
#define ATTENTION_ROW_KEY_BEGIN 0u    /* first visible key (0) */
#define ATTENTION_ROW_KEY_END 1u      /* position + 1: causal end */
#define ATTENTION_ROW_SLOT 2u         /* the sequence's KV-cache slot */
#define ATTENTION_ROW_FRESH_BEGIN 3u  /* the sequence's cached length before this step */
#define ATTENTION_ROW_POSITION 4u     /* rotary position (see params/rotary.h) */
#define ATTENTION_ROW_LOG2_THETA 5u   /* rotary log2(base) hi, lo as float bits */
// The first two words match the [B][2] {first, end} bounds of the uniform
// layout, so a step of one sequence can hand the table to kernels that read
// bounds of sequence 0 only (the GEMM path).
VKINFER_PARAMS_END
#endif
