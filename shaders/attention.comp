#version 450
// Fused attention for one (query row, head) per workgroup: lanes stride over
// the visible keys keeping an online softmax (running max, sum and weighted
// V) in registers, then the lanes' partial states are merged with subgroup
// operations (SUBGROUP) or shared memory. Scores are never written to memory.
// Visible keys: [seq_start[b], causal ? past + t + 1 : seq_end[b]), or, for a
// packed step batch, the row's own entry of the row table (params/attention.h).
// KV_TEXEL reads K and V rows as vec4 texels: each lane reads a different
// key, and CPU drivers serve divergent texel fetches as vector gathers but
// divergent storage loads element by element (prefill at 512 tokens spent
// most of its time here). Needs HEAD_DIM, offsets and strides divisible by 4.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#include "params/attention.h"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 8;
layout(constant_id = 1) const uint HEAD_DIM = 64;
layout(constant_id = 2) const bool FRESH = false;

layout(push_constant) uniform PushConstants { ATTENTION_PARAMS_FIELDS } pc;
layout(std430, binding = 0) readonly buffer QBuffer { float q_data[]; };
layout(std430, binding = 1) buffer KBuffer { float k_data[]; };
layout(std430, binding = 2) buffer VBuffer { float v_data[]; };
layout(std430, binding = 3) readonly buffer SeqBuffer { uint seq_bounds[]; };  // [B][2] or row table
layout(std430, binding = 4) writeonly buffer OBuffer { float o_data[]; };
layout(std430, binding = 5) readonly buffer FreshBuffer { float fresh_data[]; };
layout(std430, binding = 6) readonly buffer PageTable { uint page_table[]; };
#ifdef KV_TEXEL
layout(binding = 7) uniform samplerBuffer k_tex;
layout(binding = 8) uniform samplerBuffer v_tex;
layout(binding = 9) uniform samplerBuffer fresh_tex;
#endif

#include "common/kv_pages.glsl"

#ifndef SUBGROUP
shared float lane_state[WORKGROUP][HEAD_DIM + 2u];
#endif

float running_max = -1.0 / 0.0;
float running_sum = 0.0;
float acc[HEAD_DIM];
float q[HEAD_DIM];

// One key of the online softmax: score it, rescale the running state, add
// its value.
#ifdef KV_TEXEL
vec4 q4[HEAD_DIM / 4u];
vec4 acc4[HEAD_DIM / 4u];
void visit_key(samplerBuffer keys, samplerBuffer values, uint k_quad, uint v_quad) {
  float score = 0.0;
  for (uint d = 0u; d < HEAD_DIM / 4u; ++d) score += dot(q4[d], texelFetch(keys, int(k_quad + d)));
  const float new_max = max(running_max, score);
  const float correction = exp(running_max - new_max);
  const float weight = exp(score - new_max);
  running_sum = running_sum * correction + weight;
  for (uint d = 0u; d < HEAD_DIM / 4u; ++d)
    acc4[d] = acc4[d] * correction + weight * texelFetch(values, int(v_quad + d));
  running_max = new_max;
}
#else
void visit_key(uint k_base, uint v_base, bool fresh) {
  float score = 0.0;
  for (uint d = 0u; d < HEAD_DIM; ++d) score += q[d] * (fresh ? fresh_data[k_base + d] : k_data[k_base + d]);
  const float new_max = max(running_max, score);
  const float correction = exp(running_max - new_max);
  const float weight = exp(score - new_max);
  running_sum = running_sum * correction + weight;
  for (uint d = 0u; d < HEAD_DIM; ++d)
    acc[d] = acc[d] * correction + weight * (fresh ? fresh_data[v_base + d] : v_data[v_base + d]);
  running_max = new_max;
}
#endif

void main() {
  const uint head = gl_WorkGroupID.x;
  const uint row = gl_WorkGroupID.y;
  const uint lane = gl_LocalInvocationID.x;
  const uint kv_head = head / pc.group;
  // The row's sequence (its cache slot), visible keys, and the first key
  // position held by this step's rows rather than the cache.
  uint seq, key_begin, key_end, fresh_begin;
  if (pc.packed != 0u) {
    const uint at = row * ATTENTION_ROW_WORDS;
    key_begin = seq_bounds[at + ATTENTION_ROW_KEY_BEGIN];
    key_end = seq_bounds[at + ATTENTION_ROW_KEY_END];
    seq = seq_bounds[at + ATTENTION_ROW_SLOT];
    fresh_begin = seq_bounds[at + ATTENTION_ROW_FRESH_BEGIN];
  } else {
    seq = row / pc.rows_per_seq;
    const uint t = row % pc.rows_per_seq;
    key_begin = seq_bounds[2u * seq];
    key_end = pc.causal != 0u ? pc.past + t + 1u : seq_bounds[2u * seq + 1u];
    fresh_begin = pc.past;
  }

  const uint q_base = pc.q_offset + row * pc.q_stride + head * HEAD_DIM;
  for (uint d = 0u; d < HEAD_DIM; ++d) q[d] = q_data[q_base + d] * pc.scale;

  // Keys [key_begin, cached_end) come from the cache, the rest of the
  // visible ones from this step's rows (FRESH).
  // With FRESH (causal) this row holds key position key_end - 1, and a
  // sequence's rows are consecutive: key j >= fresh_begin sits in row
  // row - (key_end - 1 - j).
  const uint cached_end = FRESH ? min(key_end, fresh_begin) : key_end;
  const uint fresh_first = max(key_begin, fresh_begin);
  const uint fresh_row_delta = key_end - 1u;  // fresh key j's row: row + j - this
#ifdef KV_TEXEL
  const uint QUADS = HEAD_DIM / 4u;
  for (uint d = 0u; d < QUADS; ++d) q4[d] = vec4(q[4u * d], q[4u * d + 1u], q[4u * d + 2u], q[4u * d + 3u]);
  for (uint d = 0u; d < QUADS; ++d) acc4[d] = vec4(0.0);
  // Each lane's keys rise by WORKGROUP, so it reads the page table once
  // per page it enters rather than once per key.
  uint run = 0xffffffffu, run_base = 0u, run_first = 0u;
  for (uint j = key_begin + lane; j < cached_end; j += WORKGROUP) {
    if (kv_run(j) != run) {
      run = kv_run(j);
      run_first = kv_run_first(run);
      run_base = kv_index(seq, kv_head, run_first);
    }
    const uint at = run_base + (j - run_first) * pc.kv_pos_stride;
    visit_key(k_tex, v_tex, (pc.k_offset + at) / 4u, (pc.v_offset + at) / 4u);
  }
  if (FRESH)
    for (uint j = fresh_first + lane; j < key_end; j += WORKGROUP) {
      const uint base = pc.fresh_offset + (row + j - fresh_row_delta) * pc.fresh_stride + kv_head * HEAD_DIM;
      visit_key(fresh_tex, fresh_tex, base / 4u, (base + pc.fresh_v_delta) / 4u);
    }
  for (uint d = 0u; d < HEAD_DIM; ++d) acc[d] = acc4[d / 4u][d % 4u];
#else
  for (uint d = 0u; d < HEAD_DIM; ++d) acc[d] = 0.0;
  uint run = 0xffffffffu, run_base = 0u, run_first = 0u;  // as in the texel loop
  for (uint j = key_begin + lane; j < cached_end; j += WORKGROUP) {
    if (kv_run(j) != run) {
      run = kv_run(j);
      run_first = kv_run_first(run);
      run_base = kv_index(seq, kv_head, run_first);
    }
    const uint at = run_base + (j - run_first) * pc.kv_pos_stride;
    visit_key(pc.k_offset + at, pc.v_offset + at, false);
  }
  if (FRESH)
    for (uint j = fresh_first + lane; j < key_end; j += WORKGROUP) {
      const uint base = pc.fresh_offset + (row + j - fresh_row_delta) * pc.fresh_stride + kv_head * HEAD_DIM;
      visit_key(base, base + pc.fresh_v_delta, true);
    }
#endif
  if (FRESH && head % pc.group == 0u) {
    // This row's key and value into the cache, at its position.
    const uint src = pc.fresh_offset + row * pc.fresh_stride + kv_head * HEAD_DIM;
    const uint dst = kv_index(seq, kv_head, key_end - 1u);
    for (uint d = lane; d < HEAD_DIM; d += WORKGROUP) {
      k_data[pc.k_offset + dst + d] = fresh_data[src + d];
      v_data[pc.v_offset + dst + d] = fresh_data[src + pc.fresh_v_delta + d];
    }
  }

  const uint o_base = pc.o_offset + row * pc.o_stride + head * HEAD_DIM;
#ifdef SUBGROUP
  const float global_max = subgroupMax(running_max);
  const float factor = running_max == -1.0 / 0.0 ? 0.0 : exp(running_max - global_max);
  const float total = subgroupAdd(running_sum * factor);
  // A row that sees no key (padding) outputs zeros rather than NaN.
  const float inv_total = total > 0.0 ? 1.0 / total : 0.0;
  for (uint d = 0u; d < HEAD_DIM; ++d) {
    float value = subgroupAdd(acc[d] * factor);
    if (d % WORKGROUP == lane) o_data[o_base + d] = value * inv_total;
  }
#else
  lane_state[lane][HEAD_DIM] = running_max;
  lane_state[lane][HEAD_DIM + 1u] = running_sum;
  for (uint d = 0u; d < HEAD_DIM; ++d) lane_state[lane][d] = acc[d];
  barrier();
  float global_max = -1.0 / 0.0;
  for (uint l = 0u; l < WORKGROUP; ++l) global_max = max(global_max, lane_state[l][HEAD_DIM]);
  float total = 0.0;
  for (uint l = 0u; l < WORKGROUP; ++l) {
    float m = lane_state[l][HEAD_DIM];
    total += m == -1.0 / 0.0 ? 0.0 : lane_state[l][HEAD_DIM + 1u] * exp(m - global_max);
  }
  const float inv_total = total > 0.0 ? 1.0 / total : 0.0;
  for (uint d = lane; d < HEAD_DIM; d += WORKGROUP) {
    float value = 0.0;
    for (uint l = 0u; l < WORKGROUP; ++l) {
      float m = lane_state[l][HEAD_DIM];
      if (m != -1.0 / 0.0) value += lane_state[l][d] * exp(m - global_max);
    }
    o_data[o_base + d] = value * inv_total;
  }
#endif
}
