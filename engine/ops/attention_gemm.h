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

// Records the path in blocks of `block_rows` query rows: scores, softmax, P.V.
void attention_gemm(vk::CommandStream& stream, const AttentionArgs& args, const ReducePolicy& policy,
                    int64_t block_rows);

}  // namespace vkinfer::ops
