// Plain C++ attention reference (double accumulation).
#pragma once

#include <cstdint>
#include <vector>

namespace vkinfer::reference {

// q: [B*T, H*D]; k, v: [B][S][KVH*D] (all keys of each sequence);
// query t of sequence b sees keys [start[b], causal ? past + t + 1 : end[b]);
// with a sliding `window` (causal), only keys >= past + t - window.
std::vector<float> attention(const std::vector<float>& q, const std::vector<float>& k,
                             const std::vector<float>& v, int64_t B, int64_t T, int64_t S,
                             int64_t H, int64_t KVH, int64_t D, int64_t past, bool causal,
                             const std::vector<uint32_t>& start, const std::vector<uint32_t>& end,
                             double scale, int64_t window = 0);

}  // namespace vkinfer::reference
