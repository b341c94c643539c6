#version 450
// Embedding gather for one row chunk of a table (vocab-parallel aware): row m
// of y gets scale * table[ids[m] - row_offset] when that row lies in this
// chunk; ACCUMULATE adds instead. Rows whose id is outside the whole local
// table get 0 when ZERO_OUTSIDE (set on the first chunk's dispatch only when
// overwriting), so every y row is written by exactly one dispatch for any
// chunking. One workgroup per row; lanes stride over the columns.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

#include "params/embedding.h"

layout(push_constant) uniform PushConstants { EMBEDDING_PARAMS_FIELDS } pc;

layout(std430, binding = 0) readonly buffer IdBuffer { uint ids[]; };
#if defined(WEIGHT_BLOCKS)
// Block formats: quants and scales as the matmul kernels read them
// (common/block_weights.glsl), eight weights per step.
#include "common/block_weights.glsl"
layout(std430, binding = 1) readonly buffer TableBuffer { uvec4 table_data[]; };
layout(std430, binding = 3) readonly buffer TableMeta { uint table_meta[]; };
#define TABLE_RAW(i) table_data[i]
#define TABLE_META(i) table_meta[i]
#elif defined(WEIGHT_F16)
layout(std430, binding = 1) readonly buffer TableBuffer { uint table_data[]; };  // packed halves
float table_at(uint i) {
  vec2 pair = unpackHalf2x16(table_data[i >> 1u]);
  return (i & 1u) == 0u ? pair.x : pair.y;
}
#else
layout(std430, binding = 1) readonly buffer TableBuffer { float table_data[]; };
float table_at(uint i) { return table_data[i]; }
#endif
layout(std430, binding = 2) buffer YBuffer { float y_data[]; };

void main() {
  const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  if (row >= pc.M) return;
  const uint lane = gl_LocalInvocationID.x;
  const uint id = ids[pc.ids_offset + row];
  const uint y_base = pc.y_offset + row * pc.y_stride;
  // Unsigned wrap-around makes ids below the range land far above it.
  const uint local_row = id - pc.row_offset;
  const bool in_table = local_row < pc.table_rows;
  const uint chunk_row = local_row - pc.chunk_begin;
  if (in_table && chunk_row < pc.chunk_rows) {
    const bool accumulate = (pc.flags & EMBEDDING_FLAG_ACCUMULATE) != 0u;
#if defined(WEIGHT_BLOCKS)
    const uint first_block = chunk_row * (pc.w_stride / BLOCK_ELEMENTS);
    for (uint g = lane; 8u * g < pc.N; g += WORKGROUP) {
      vec4 lo, hi;
      BLOCK_LOAD8(TABLE_RAW, TABLE_META, first_block + g / GROUPS_PER_BLOCK, g % GROUPS_PER_BLOCK, lo, hi);
      const float v8[8] = float[8](lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
      for (uint i = 0u; i < 8u && 8u * g + i < pc.N; ++i) {
        const uint c = 8u * g + i;
        float v = pc.scale * v8[i];
        y_data[y_base + c] = accumulate ? y_data[y_base + c] + v : v;
      }
    }
#else
    const uint base = chunk_row * pc.w_stride;
    for (uint c = lane; c < pc.N; c += WORKGROUP) {
      float v = pc.scale * table_at(base + c);
      y_data[y_base + c] = accumulate ? y_data[y_base + c] + v : v;
    }
#endif
  } else if (!in_table && (pc.flags & EMBEDDING_FLAG_ZERO_OUTSIDE) != 0u) {
    for (uint c = lane; c < pc.N; c += WORKGROUP) y_data[y_base + c] = 0.0;
  }
}
