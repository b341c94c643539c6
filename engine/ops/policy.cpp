#include "engine/ops/policy.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "engine/core/error.h"

#include "engine/vk/device_info.h"

namespace vkinfer::ops {

KernelPolicy choose_policy(const vk::DeviceInfo& info, int64_t largest_layer_weight) {
  KernelPolicy policy;
  const bool cpu_like = info.type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const bool subgroup = info.enabled.subgroup_arithmetic && info.subgroup_size >= 4 &&
                        info.subgroup_size <= 128;
  MatmulPolicy& matmul = policy.matmul;
  // CPU drivers (lavapipe, SwiftShader) stream texel buffers 2-2.7x faster
  // than storage buffers; GPUs read storage buffers at full bandwidth.
  matmul.texel_weights = info.enabled.texel_buffers && cpu_like;
  matmul.subgroup = subgroup;
  matmul.vec_workgroup = subgroup ? info.subgroup_size : (cpu_like ? 8u : 64u);
  // More rows per subgroup amortise the per-row reduction and epilogue; 16
  // measured best on lavapipe (4: 17, 8: 24, 16: 22-26 GPT-2 decode tok/s).
  matmul.vec_rows = cpu_like ? 16u : 2u;
  // GPUs want ~128-invocation workgroups; on lavapipe 1 and 8 measured alike.
  matmul.vec_subgroups = cpu_like ? 1u : std::max(1u, 128u / std::max(info.subgroup_size, 1u));
  // CPU drivers: one row of 8 lanes sharing their X rows, each lane 16 rows
  // x 16 columns. On lavapipe, with X read as texels, fp32 512x4096x4096 ran
  // 46-61 GFLOPS at 16x16 against 38-43 at 8x16 and ~23 at 4x4
  // (bench/RESULTS.md); GPUs want more invocations with smaller blocks.
  if (cpu_like) {
    matmul.tile_local_n = 8; matmul.tile_local_m = 1; matmul.tile_n = 16; matmul.tile_m = 16;
    // Decode rows on lavapipe, M=1 fp16 (bench/RESULTS.md): tiled is 15-30%
    // faster at K=768-1536 and ties the GEMV at K=3072.
    matmul.tiled_max_k_small_m = 2048;
    // A small model's GEMMs gain little from big tiles, and lavapipe
    // JIT-compiles every tile at load, at a cost that grows with the tile:
    // 7-11 s for each 16x16 pipeline, 0.5-1 s at 4x8. For the bundled
    // 4-layer GPT-2 (layer weights 192x768) the 16x16 tiles prefilled 240
    // tokens in 59 ms against 80 ms at 4x8, and cost 20 s more at a cold
    // start (24.1 s against 4.1 s with the norm fusion below also off;
    // bench/RESULTS.md). Decode keeps 16-column tiles (0.2-0.4 s each). The
    // 2-4-row steps run their norm as its own dispatch rather than compile
    // norm-fused copies of the tile.
    if (largest_layer_weight > 0 && largest_layer_weight < kSmallModelLayerWeights) {
      matmul.tile_n_single = matmul.tile_n;
      matmul.tile_m = 4; matmul.tile_n = 8;
      matmul.norm_fuse_max_m = 1;
    }
  } else {
    matmul.tile_local_n = 16; matmul.tile_local_m = 8; matmul.tile_n = 4; matmul.tile_m = 4;
  }
  policy.reduce.subgroup = subgroup;
  policy.reduce.texel_kv = matmul.texel_weights;
  policy.reduce.texel_rows = matmul.texel_weights;
  policy.reduce.workgroup = subgroup ? std::max(info.subgroup_size, 32u) : 64u;
  if (cpu_like) policy.reduce.workgroup = subgroup ? info.subgroup_size : 8u;
  // The fused kernel reads each K and V row once per query row; the GEMMs
  // read them once per tile of rows. Both read through texel views.
  policy.reduce.attention_gemm_min_rows = info.enabled.texel_buffers ? 16u : 0u;
  if (const char* tuning = std::getenv("VKINFER_KERNEL_TUNING")) apply_tuning(policy, tuning);
  return policy;
}

void apply_tuning(KernelPolicy& policy, const std::string& overrides) {
  MatmulPolicy& m = policy.matmul;
  struct Knob {
    const char* name;
    uint32_t* field;
    uint32_t min = 1, max = 1024;
  };
  const Knob knobs[] = {
      {"vec_workgroup", &m.vec_workgroup}, {"vec_subgroups", &m.vec_subgroups},
      {"vec_rows", &m.vec_rows},           {"vec_max_m", &m.vec_max_m},
      {"tiled_min_m", &m.tiled_min_m},     {"tiled_max_k_small_m", &m.tiled_max_k_small_m, 0, 1u << 20},
      {"tile_local_n", &m.tile_local_n},   {"tile_local_m", &m.tile_local_m},
      {"tile_n", &m.tile_n},               {"tile_m", &m.tile_m},
      {"tile_n_single", &m.tile_n_single, 0, 1024},
      {"norm_fuse_max_m", &m.norm_fuse_max_m, 0, 1u << 20},
      {"reduce_workgroup", &policy.reduce.workgroup},
      {"attention_gemm_min_rows", &policy.reduce.attention_gemm_min_rows, 0, 1u << 20},
      {"attention_tile_m", &policy.reduce.attention_tile_m, 1, 64},
      {"attention_tile_n", &policy.reduce.attention_tile_n, 4, 64}};
  std::stringstream stream(overrides);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    const Knob* knob = nullptr;
    for (const Knob& candidate : knobs)
      if (key == candidate.name) knob = &candidate;
    if (!knob || eq == std::string::npos) {
      std::string known;
      for (const Knob& candidate : knobs)
        known += (known.empty() ? "" : ", ") + std::string(candidate.name);
      fail(ErrorCode::kInvalidArgument,
           "VKINFER_KERNEL_TUNING: '{}' is not key=value with a known key ({})", item, known);
    }
    char* end = nullptr;
    const unsigned long value = std::strtoul(item.c_str() + eq + 1, &end, 10);
    if (item.size() == eq + 1 || *end != '\0' || value < knob->min || value > knob->max)
      fail(ErrorCode::kInvalidArgument, "VKINFER_KERNEL_TUNING: {} must be an integer in {}..{}",
           key, knob->min, knob->max);
    *knob->field = static_cast<uint32_t>(value);
  }
}

}  // namespace vkinfer::ops
