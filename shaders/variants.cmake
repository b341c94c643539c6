# Shader variants: vkinfer_shader(<name> <source> [DEFINES...]).
# Weight dtype x weight access (storage/texel) x reduction (subgroup/shared).
foreach(dtype f32 f16)
  string(TOUPPER ${dtype} DTYPE)
  foreach(access storage texel)
    set(defines WEIGHT_${DTYPE})
    if(access STREQUAL texel)
      list(APPEND defines WEIGHT_TEXEL)
    endif()
    vkinfer_shader(matmul_tiled_${dtype}_${access} matmul_tiled.comp ${defines})
    vkinfer_shader(matmul_vec_${dtype}_${access}_subgroup matmul_vec.comp ${defines} SUBGROUP)
    vkinfer_shader(matmul_vec_${dtype}_${access}_shared matmul_vec.comp ${defines})
  endforeach()
endforeach()

# GGUF block formats (common/block_weights.glsl), in the same four matmul
# flavours, and their embedding gather.
foreach(block q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k)
  string(TOUPPER ${block} BLOCK)
  foreach(access storage texel)
    set(defines WEIGHT_BLOCKS WEIGHT_${BLOCK})
    if(access STREQUAL texel)
      list(APPEND defines WEIGHT_TEXEL)
    endif()
    vkinfer_shader(matmul_tiled_${block}_${access} matmul_tiled.comp ${defines})
    vkinfer_shader(matmul_vec_${block}_${access}_subgroup matmul_vec.comp ${defines} SUBGROUP)
    vkinfer_shader(matmul_vec_${block}_${access}_shared matmul_vec.comp ${defines})
  endforeach()
  vkinfer_shader(embedding_${block} embedding.comp WEIGHT_BLOCKS WEIGHT_${BLOCK})
endforeach()

# Other op families declare their variants in shaders/variants_<family>.cmake.
file(GLOB VKINFER_VARIANT_FILES ${CMAKE_SOURCE_DIR}/shaders/variants_*.cmake)
foreach(f ${VKINFER_VARIANT_FILES})
  include(${f})
endforeach()
