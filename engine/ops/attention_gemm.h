// Attention over long blocks of query rows as two GEMMs and a softmax
// (shaders/attention_gemm.comp): the path ops::attention takes for prefill
// and encoder batches when the caller gives scratch for the scores.
#pragma once

#include "engine/ops/attention.h"

namespace vkinfer::ops {

// Query rows per block the scratch and device allow; 0 when the GEMM path
// does not apply (policy, texel support or alignment, too little scratch).
int64_t attention_gemm_block_rows(const vk::DeviceInfo& info, const AttentionArgs& args,
                                  const ReducePolicy& policy);

// The K/V addressing fields every attention kernel's push constants share
// (KV_PAGE_PARAMS_FIELDS and the kv_* strides; common/kv_pages.glsl).
template <typename Params>
void set_kv_addressing(Params& p, const KvLayout& kv) {
  p.kv_seq_stride = kv.seq_stride;
  p.kv_head_stride = kv.head_stride;
  p.kv_pos_stride = kv.pos_stride;
  p.page_shift = kv.paged() ? kv.page_shift : 0u;
  p.pages_per_seq = kv.paged() ? kv.pages_per_seq : 0u;
  p.kv_first_seq = kv.first_seq;
}

// Records the path in blocks of `block_rows` query rows: scores, softmax, P.V.
void attention_gemm(vk::CommandStream& stream, const AttentionArgs& args, const ReducePolicy& policy,
                    int64_t block_rows);

}  // namespace vkinfer::ops
