#include "engine/ops/weight_kernels.h"

#include "engine/core/error.h"

namespace vkinfer::ops {
namespace {

// fp16 rows are read as uint4 texels (eight halves, unpacked in the shader):
// CPU drivers fetch whole 16-byte texels fastest.
const WeightKernels kKernels[] = {
    {WeightFormatId::kF32, ShaderId::matmul_tiled_f32_storage, ShaderId::matmul_tiled_f32_texel,
     ShaderId::matmul_vec_f32_storage_shared, ShaderId::matmul_vec_f32_storage_subgroup,
     ShaderId::matmul_vec_f32_texel_shared, ShaderId::matmul_vec_f32_texel_subgroup,
     ShaderId::embedding_f32, VK_FORMAT_R32G32B32A32_SFLOAT},
    {WeightFormatId::kF16, ShaderId::matmul_tiled_f16_storage, ShaderId::matmul_tiled_f16_texel,
     ShaderId::matmul_vec_f16_storage_shared, ShaderId::matmul_vec_f16_storage_subgroup,
     ShaderId::matmul_vec_f16_texel_shared, ShaderId::matmul_vec_f16_texel_subgroup,
     ShaderId::embedding_f16, VK_FORMAT_R32G32B32A32_UINT},
// Block formats read their quants as uint4 texels and their scales from a
// storage buffer (shaders/common/block_weights.glsl).
#define VKINFER_BLOCK_KERNELS(ID, name)                                                      \
  {WeightFormatId::ID, ShaderId::matmul_tiled_##name##_storage,                              \
   ShaderId::matmul_tiled_##name##_texel, ShaderId::matmul_vec_##name##_storage_shared,      \
   ShaderId::matmul_vec_##name##_storage_subgroup, ShaderId::matmul_vec_##name##_texel_shared, \
   ShaderId::matmul_vec_##name##_texel_subgroup, ShaderId::embedding_##name,                 \
   VK_FORMAT_R32G32B32A32_UINT}
    VKINFER_BLOCK_KERNELS(kQ8_0, q8_0),
    VKINFER_BLOCK_KERNELS(kQ4_0, q4_0),
    VKINFER_BLOCK_KERNELS(kQ4_1, q4_1),
    VKINFER_BLOCK_KERNELS(kQ5_0, q5_0),
    VKINFER_BLOCK_KERNELS(kQ5_1, q5_1),
    VKINFER_BLOCK_KERNELS(kQ4_K, q4_k),
    VKINFER_BLOCK_KERNELS(kQ5_K, q5_k),
    VKINFER_BLOCK_KERNELS(kQ6_K, q6_k),
#undef VKINFER_BLOCK_KERNELS
};

}  // namespace

const WeightKernels& weight_kernels(const WeightFormat& format, const char* op) {
  for (const WeightKernels& kernels : kKernels)
    if (kernels.format == format.id) return kernels;
  fail(ErrorCode::kUnsupported, "{}: no kernel reads {} weights", op, format.name);
}

}  // namespace vkinfer::ops
