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

# Other op families declare their variants in shaders/variants_<family>.cmake.
file(GLOB VKINFER_VARIANT_FILES ${CMAKE_SOURCE_DIR}/shaders/variants_*.cmake)
foreach(f ${VKINFER_VARIANT_FILES})
  include(${f})
endforeach()
