// Which shaders read each device weight format (weights/weight_format.h).
// Matmul and embedding look their variant up here by the Weight's format,
// never by the file's element type; a format with no row here (bf16, widened
// at load) fails kUnsupported naming the format and the op. Block formats'
// kernels bind two more storage buffers: the scales of W and of GLU's W_up.
#pragma once

#include <vulkan/vulkan.h>

#include "engine/vk/kernel.h"
#include "engine/weights/weight_format.h"

namespace vkinfer::ops {

struct WeightKernels {
  WeightFormatId format;
  // GEMM (tiled) and GEMV (vec) families, weights read from storage buffers
  // or texel views; the GEMV reduces with subgroup ops or shared memory.
  ShaderId tiled_storage, tiled_texel;
  ShaderId vec_storage_shared, vec_storage_subgroup, vec_texel_shared, vec_texel_subgroup;
  ShaderId embedding;
  VkFormat texel_format;  // the type of a texel view of the weight rows

  ShaderId matmul(bool tiled, bool texel, bool subgroup) const {
    if (tiled) return texel ? tiled_texel : tiled_storage;
    if (texel) return subgroup ? vec_texel_subgroup : vec_texel_shared;
    return subgroup ? vec_storage_subgroup : vec_storage_shared;
  }
};

const WeightKernels& weight_kernels(const WeightFormat& format, const char* op);

}  // namespace vkinfer::ops
