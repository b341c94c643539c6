// Fused multi-head attention (MHA/GQA, causal or padded) and the KV-cache
// write. K/V are addressed by strides, so one kernel serves decoders (KV
// cache) and encoders (straight from the fused qkv rows).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/ops/policy.h"
#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"

namespace vkinfer::ops {

// Where key/value position p of kv head h of sequence s sits (elements):
//   unpaged (page_table null): k_offset + (first_seq + s) * seq_stride
//                              + h * head_stride + p * pos_stride;
//   paged: the cache is a pool of pages of 2^page_shift positions; page
//          table row first_seq + s (pages_per_seq uint32 entries) names the
//          page P holding p, at k_offset + P * seq_stride + h * head_stride
//          + (p mod page) * pos_stride.
// (shaders/common/kv_pages.glsl computes the same.)
struct KvLayout {
  const vk::Buffer* k = nullptr;
  const vk::Buffer* v = nullptr;
  uint32_t k_offset = 0, v_offset = 0;  // elements
  uint32_t seq_stride = 0, head_stride = 0, pos_stride = 0;
  uint32_t first_seq = 0;
  const vk::Buffer* page_table = nullptr;
  uint32_t page_shift = 0, pages_per_seq = 0;

  bool paged() const { return page_table != nullptr; }
  // Positions one sequence's run of contiguous storage holds: a page, or
  // (unpaged) what the head stride leaves room for.
  int64_t positions_per_run() const {
    return paged() ? int64_t(1) << page_shift : pos_stride ? head_stride / pos_stride : 0;
  }
};

// One row of a packed step batch's row table (AttentionArgs::row_table), as
// the kernels read it (ATTENTION_ROW_* in shaders/params/attention.h). The
// rotary op reads position and log2(theta) from the same table
// (RotaryArgs::row_theta, at kAttentionRowPosition with stride kAttentionRowWords).
struct AttentionRow {
  uint32_t key_begin = 0;    // first visible key
  uint32_t key_end = 0;      // position + 1 (causal)
  uint32_t slot = 0;         // the sequence's KV-cache slot
  uint32_t fresh_begin = 0;  // the sequence's cached length before this step
  uint32_t position = 0;     // rotary position
  float log2_theta_hi = 0, log2_theta_lo = 0;  // rotary base (split_log2_theta)
  uint32_t unused = 0;
};
constexpr uint32_t kAttentionRowWords = sizeof(AttentionRow) / 4;
constexpr uint32_t kAttentionRowPosition = offsetof(AttentionRow, position) / 4;

struct AttentionArgs {
  View q;                  // rows [B*T], q head h at column h*head_dim
  View out;                // rows [B*T], head h at column h*head_dim
  KvLayout kv;
  const vk::Buffer* seq_bounds = nullptr;  // uint32 [B][2]: first visible key, end (non-causal)
  int64_t batch = 1, rows_per_seq = 1;
  int64_t num_heads = 1, num_kv_heads = 1, head_dim = 1;
  int64_t past = 0;  // key position of each sequence's first query row
  bool causal = true;
  float scale = 1.0f;
  // Scratch for running long blocks of query rows as two GEMMs and a softmax
  // (attention_scores_bytes). Without it, or when the policy or device does
  // not allow that path, the fused kernel runs.
  const vk::Buffer* scores = nullptr;
  // This step's keys and values, still in the fused qkv rows (rows [B*T]: k
  // head 0 at fresh.offset, v at + fresh_v_delta). When set, attention also
  // stores them into the cache `kv` at positions past .. past + T - 1: the
  // fused kernel does so itself and reads them from here (one dispatch less
  // per decode step), the GEMM path runs kv_store first.
  View fresh;
  // `kv` must then be a cache layout (cache_layout(), or KvCache::layout()).
  uint32_t fresh_v_delta = 0;
  // A packed step batch (decoders): rows of several sequences back to back,
  // batch 1 and rows_per_seq = the step's rows. Each row's cache slot,
  // visible keys and first fresh position come from row_table
  // (ATTENTION_ROW_WORDS uints per row, shaders/params/attention.h), which
  // replaces seq_bounds; `past` is unused. Causal, with `fresh`.
  const vk::Buffer* row_table = nullptr;
  // With a row table whose rows all belong to one sequence: its slot and
  // cached length, so that the GEMM path can run (it reads one sequence's
  // cache as sequence 0 of kv.first_seq = slot); -1 when the step mixes
  // sequences.
  int64_t single_slot = -1, single_past = 0;
  // Sliding-window attention (causal): a query at position p sees keys
  // p - window .. p only; 0 = no window. With a row table the fused kernel
  // takes each row's first key from the table (the model writes it there);
  // the GEMM path masks by this.
  int64_t window = 0;
};

void attention(vk::CommandStream& stream, const AttentionArgs& args, const ReducePolicy& policy);

// Which attention path `rows_per_seq` query rows can take: 1 when the
// blocked GEMM path (attention_gemm.cpp) may run, 0 when only the fused
// kernel can. Models use it at load to find the row counts whose pipelines
// they prepare; the fused kernel is prepared by any row count.
int attention_row_class(int64_t rows_per_seq, const ReducePolicy& policy);

// Scratch bytes for AttentionArgs::scores: the scores of `batch` sequences x
// `heads` heads for a block of up to `rows_per_seq` query rows against up to
// `keys` keys, capped at kMaxScoresBytes by taking fewer rows per block.
// 0 when blocks that fit would be shorter than the GEMM path's minimum, then
// the fused kernel runs. Device-independent, so memory plans can count it.
constexpr uint64_t kMaxScoresBytes = 32ull << 20;
constexpr int64_t kMinScoresBlockRows = 16;
uint64_t attention_scores_bytes(int64_t batch, int64_t heads, int64_t rows_per_seq, int64_t keys);

// Into a cache layout (cache_layout() or KvCache::layout(); offsets 0).
struct KvStoreArgs {
  View k_src;              // rows [B*T]: k head 0 at offset, v at offset + v_delta
  uint32_t v_delta = 0;
  KvLayout cache;
  int64_t batch = 1, rows_per_seq = 1, num_kv_heads = 1, head_dim = 1, past = 0;
  // Packed step batch: each row's slot and position from this row table
  // (AttentionArgs::row_table); batch and past are then unused.
  const vk::Buffer* row_table = nullptr;
};

void kv_store(vk::CommandStream& stream, const KvStoreArgs& args);

// An unpaged cache [B][kv_heads][ctx][head_dim] for AttentionArgs::kv.
KvLayout cache_layout(const vk::Buffer& k_cache, const vk::Buffer& v_cache, int64_t num_kv_heads,
                      int64_t ctx, int64_t head_dim);

}  // namespace vkinfer::ops
