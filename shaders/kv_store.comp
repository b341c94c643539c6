#version 450
// Copies the k and v heads of fused qkv rows into the KV cache (unpaged
// [B][kv_heads][ctx][head_dim] or paged, common/kv_pages.glsl) at positions
// past .. past + T - 1, or, for a packed step batch, at each row's slot and
// position from the row table.
#extension GL_GOOGLE_include_directive : require
#include "params/attention.h"

layout(local_size_x = 64) in;
layout(push_constant) uniform PushConstants { KV_STORE_PARAMS_FIELDS } pc;
layout(std430, binding = 0) readonly buffer Source { float src[]; };
layout(std430, binding = 1) writeonly buffer KCache { float k_cache[]; };
layout(std430, binding = 2) writeonly buffer VCache { float v_cache[]; };
layout(std430, binding = 3) readonly buffer RowTable { uint row_table[]; };
layout(std430, binding = 4) readonly buffer PageTable { uint page_table[]; };

#include "common/kv_pages.glsl"

void main() {
  const uint index = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * 64u;
  const uint per_row = pc.kv_heads * pc.head_dim;
  if (index >= pc.rows * per_row) return;
  const uint row = index / per_row;
  const uint within = index % per_row;
  const uint head = within / pc.head_dim;
  const uint d = within % pc.head_dim;
  uint seq = row / pc.rows_per_seq;
  uint pos = pc.past + row % pc.rows_per_seq;
  if (pc.packed != 0u) {
    seq = row_table[row * ATTENTION_ROW_WORDS + ATTENTION_ROW_SLOT];
    pos = row_table[row * ATTENTION_ROW_WORDS + ATTENTION_ROW_KEY_END] - 1u;
  }
  const uint src_index = pc.src_offset + row * pc.src_stride + within;
  const uint dst = kv_index(seq, head, pos) + d;
  k_cache[dst] = src[src_index];
  v_cache[dst] = src[src_index + pc.v_src_delta];
}
