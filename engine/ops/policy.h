// Which kernel variant and tile sizes an op uses on a device, decided from
// the device's properties (type, subgroup support and size, texel buffers),
// never from its name. Tests and the kernel lab override it to run every
// variant; VKINFER_DISABLE_FEATURES turns the features off underneath.
#pragma once

#include <cstdint>
#include <string>

namespace vkinfer::vk {
struct DeviceInfo;
}

namespace vkinfer::ops {

struct MatmulPolicy {
  bool texel_weights = false;  // uniform texel buffers for weights
  bool subgroup = false;       // subgroupAdd reductions in the GEMV kernel
  uint32_t vec_workgroup = 8;  // GEMV lanes of the shared-memory variant
  uint32_t vec_subgroups = 1;  // subgroups per GEMV workgroup (subgroup variant)
  uint32_t vec_rows = 4;       // GEMV output columns per workgroup
  uint32_t vec_max_m = 4;      // GEMV activation rows per pass
  uint32_t tiled_min_m = 5;    // M at or above which the tiled GEMM is used
  // Below tiled_min_m, the tiled kernel still takes K up to this (0: never).
  // Its lanes own whole rows, so no cross-lane reduction: CPU drivers run
  // subgroupAdd as a scalar loop over the lanes, ~80 ns per GEMV output row.
  uint32_t tiled_max_k_small_m = 0;
  uint32_t tile_local_n = 8, tile_local_m = 8;
  uint32_t tile_n = 4, tile_m = 8;
  // Columns per invocation of one-row tiles (decode steps, and 2-4 rows when
  // tile_m / 4 is 1); 0: tile_n. Lets decode keep wide tiles when the
  // prefill tile is narrowed for its compile time.
  uint32_t tile_n_single = 0;
  // Pre-norm decoders with at most this many rows (decode steps) finish each
  // norm inside the matmul that reads it (InputNorm) instead of running it
  // as its own dispatch; 0: never.
  uint32_t norm_fuse_max_m = 4;
};

struct ReducePolicy {
  bool subgroup = false;
  uint32_t workgroup = 64;  // lanes per row in norm/softmax/attention kernels
  bool texel_kv = false;    // attention reads K/V through texel views when aligned
  bool texel_rows = false;  // norm and softmax read rows through texel views when aligned
  // Attention over at least this many query rows per sequence runs as two
  // GEMMs and a softmax when the caller gives scratch for the scores (0:
  // never). Tiles: rows x keys (scores) and rows x dims (P.V) per lane.
  uint32_t attention_gemm_min_rows = 0;
  uint32_t attention_tile_m = 8, attention_tile_n = 8;
};

struct KernelPolicy {
  MatmulPolicy matmul;
  ReducePolicy reduce;
};

// The device's defaults, fitted to the model's widest layer weight on this
// rank (rows x cols; 0 when there is no model: kernel labs, op tests), then
// VKINFER_KERNEL_TUNING (e.g. "vec_rows=8,vec_subgroups=2,tile_m=8") so a
// kernel lab or `vkinfer bench` run can try tile sizes on a new device
// without rebuilding.
KernelPolicy choose_policy(const vk::DeviceInfo& info, int64_t largest_layer_weight = 0);

// Layer weights below this many elements make a model "small" for the GEMM
// tiles on CPU drivers (see choose_policy).
inline constexpr int64_t kSmallModelLayerWeights = int64_t(1) << 20;

// Applies "key=value,..." overrides; fails naming an unknown key or a value
// that is not a positive integer.
void apply_tuning(KernelPolicy& policy, const std::string& overrides);

}  // namespace vkinfer::ops
