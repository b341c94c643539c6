#version 450
// First half of sampling, run by every rank on its vocab slice. One workgroup
// per row: applies the repetition penalty and the temperature, reduces the
// row's (max, sum exp) so ranks can combine a global log-sum-exp, and keeps
// the top-C (global id, logit) pairs sorted by logit descending, lower id
// first on ties. The C-th largest value is found by radix select (4 passes of
// 8-bit digit histograms over order-preserving uint keys); when ties at that
// value would overflow C, a second radix select over the column picks the
// lowest ids. That costs a handful of passes over the row but no scratch
// memory beyond 256 entries, whatever the vocab size.
// The same kernel serves the logprob pass (sample_logprobs): no penalty,
// temperature 1 and C = top-N make it reduce the raw logits, and
// SAMPLING_FLAG_CHOSEN makes it report the raw logit of the id the finish
// chose (binding 4) in place of a Gumbel winner.
#extension GL_GOOGLE_include_directive : require
#ifdef SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

#include "params/sampling.h"
#include "common/sampling_rng.glsl"

layout(push_constant) uniform PushConstants { SAMPLE_CANDIDATES_PARAMS_FIELDS } pc;

struct Candidate { uint id; float logit; };
struct Stats { float max_logit; float sum_exp; uint gumbel_id; float gumbel_key; };

layout(std430, binding = 0) readonly buffer LogitsBuffer { float logits[]; };
layout(std430, binding = 1) readonly buffer SeenBuffer { uint seen[]; };
layout(std430, binding = 2) writeonly buffer CandidateBuffer { Candidate candidates[]; };
layout(std430, binding = 3) writeonly buffer StatsBuffer { Stats stats[]; };
layout(std430, binding = 4) readonly buffer ChosenBuffer { uint chosen_ids[]; };

// -inf, spelled out because GLSL has no literal for it.
#define NEG_INF uintBitsToFloat(0xff800000u)

// Order-preserving map float -> uint (larger float, larger key). -0 is folded
// into +0 so equal floats always get equal keys; NaN never reaches here.
uint order_key(float x) {
  uint u = floatBitsToUint(x);
  if (u == 0x80000000u) u = 0u;
  return (u & 0x80000000u) != 0u ? ~u : (u | 0x80000000u);
}
float key_value(uint key) {
  return uintBitsToFloat((key & 0x80000000u) != 0u ? (key & 0x7fffffffu) : ~key);
}

// HF order: RepetitionPenaltyLogitsProcessor, then TemperatureLogitsWarper.
// NaN becomes -inf so it can never be chosen and the sort stays total.
float processed_logit(uint row, uint column) {
  float x = logits[pc.logits_offset + row * pc.logits_stride + column];
  if (isnan(x)) x = NEG_INF;
  if ((pc.flags & SAMPLING_FLAG_PENALTY) != 0u) {
    uint id = pc.vocab_offset + column;
    if (((seen[row * pc.seen_words + id / 32u] >> (id % 32u)) & 1u) != 0u)
      x = x < 0.0 ? x * pc.penalty : x / pc.penalty;
  }
  return x / pc.temperature;
}

// Online softmax statistics: folds (m2, s2) into (m, s).
void merge_stats(inout float m, inout float s, float m2, float s2) {
  if (m2 == NEG_INF) return;
  if (m2 > m) {
    s = (m == NEG_INF ? 0.0 : s * exp(m - m2)) + s2;
    m = m2;
  } else {
    s += s2 * exp(m2 - m);
  }
}
// Larger key wins, lower id on ties; NO_ID loses every tie.
void merge_best(inout float key, inout uint id, float key2, uint id2) {
  if (key2 > key || (key2 == key && id2 < id)) { key = key2; id = id2; }
}

shared float red_max[WORKGROUP];
shared float red_sum[WORKGROUP];
shared float red_key[WORKGROUP];
shared uint red_id[WORKGROUP];
shared uint hist[256];
shared uint sel_prefix, sel_mask, sel_rank, sel_equal;
shared uint cand_count;
shared uint sort_key[SAMPLING_MAX_CANDIDATES];
shared uint sort_id[SAMPLING_MAX_CANDIDATES];

// One radix-select digit pass. Among the columns whose key matches the prefix
// found so far, finds the digit at `shift` of the `sel_rank`-th largest key.
// by_column = false: key = order_key(logit); true: only columns whose logit
// key equals `value_key` take part, with key = ~column (lowest column first).
void select_digit(uint row, uint shift, bool by_column, uint value_key) {
  for (uint i = gl_LocalInvocationID.x; i < 256u; i += WORKGROUP) hist[i] = 0u;
  barrier();
  for (uint j = gl_LocalInvocationID.x; j < pc.vocab_valid; j += WORKGROUP) {
    uint key = order_key(processed_logit(row, j));
    if (by_column) {
      if (key != value_key) continue;
      key = ~j;
    }
    if ((key & sel_mask) == sel_prefix) atomicAdd(hist[(key >> shift) & 255u], 1u);
  }
  barrier();
  if (gl_LocalInvocationID.x == 0u) {
    uint above = 0u;
    for (int b = 255; b >= 0; --b) {
      uint count = hist[b];
      if (above + count >= sel_rank) {
        sel_prefix |= uint(b) << shift;
        sel_mask |= 255u << shift;
        sel_rank -= above;
        sel_equal = count;  // after the last pass: how many keys equal the answer
        break;
      }
      above += count;
    }
  }
  barrier();
}

// Returns the sel_rank-th largest key (sel_rank is left as its rank among the
// keys equal to it, sel_equal as their count).
uint radix_select(uint row, uint rank, bool by_column, uint value_key) {
  if (gl_LocalInvocationID.x == 0u) {
    sel_prefix = 0u;
    sel_mask = 0u;
    sel_rank = rank;
  }
  barrier();
  for (int shift = 24; shift >= 0; shift -= 8) select_digit(row, uint(shift), by_column, value_key);
  return sel_prefix;
}

bool sorts_before(uint a, uint b) {
  return sort_key[a] > sort_key[b] || (sort_key[a] == sort_key[b] && sort_id[a] < sort_id[b]);
}

void main() {
  const uint row = gl_WorkGroupID.x;
  const uint lane = gl_LocalInvocationID.x;
  const bool gumbel = (pc.flags & SAMPLING_FLAG_GUMBEL) != 0u;

  // Pass 1: stats and the row's best (argmax, or Gumbel-max when sampling
  // the full vocab: argmax of logit + Gumbel noise is an exact softmax draw).
  float m = NEG_INF, s = 0.0, best_key = NEG_INF;
  uint best_id = SAMPLING_NO_ID;
  for (uint j = lane; j < pc.vocab_valid; j += WORKGROUP) {
    float x = processed_logit(row, j);
    merge_stats(m, s, x, 1.0);
    uint id = pc.vocab_offset + j;
    float key = x;
    if (gumbel && x != NEG_INF)
      key = x - log(-log(sampling_uniform(sampling_hash(pc.seed_lo, pc.seed_hi, pc.step, row, id))));
    merge_best(best_key, best_id, key, id);
  }
#ifdef SUBGROUP
  float sg_max = subgroupMax(m);
  float sg_sum = subgroupAdd(m == NEG_INF ? 0.0 : s * exp(m - sg_max));
  float sg_key = subgroupMax(best_key);
  uint sg_id = subgroupMin(best_key == sg_key ? best_id : SAMPLING_NO_ID);
  if (subgroupElect()) {
    red_max[gl_SubgroupID] = sg_max;
    red_sum[gl_SubgroupID] = sg_sum;
    red_key[gl_SubgroupID] = sg_key;
    red_id[gl_SubgroupID] = sg_id;
  }
  const uint partials = gl_NumSubgroups;
#else
  red_max[lane] = m;
  red_sum[lane] = s;
  red_key[lane] = best_key;
  red_id[lane] = best_id;
  const uint partials = WORKGROUP;
#endif
  barrier();
  if (lane == 0u) {
    float total_max = NEG_INF, total_sum = 0.0, key = NEG_INF;
    uint id = SAMPLING_NO_ID;
    for (uint i = 0u; i < partials; ++i) {
      merge_stats(total_max, total_sum, red_max[i], red_sum[i]);
      merge_best(key, id, red_key[i], red_id[i]);
    }
    if ((pc.flags & SAMPLING_FLAG_CHOSEN) != 0u) {
      // NaN reads as -inf, as everywhere here; the id decides, not the value.
      uint chosen = chosen_ids[row];
      bool here = chosen >= pc.vocab_offset && chosen - pc.vocab_offset < pc.vocab_valid;
      stats[row] = Stats(total_max, total_sum, here ? chosen : SAMPLING_NO_ID,
                         here ? processed_logit(row, chosen - pc.vocab_offset) : NEG_INF);
    } else {
      stats[row] = Stats(total_max, total_sum, id, key);
    }
    red_id[0] = id;
    red_key[0] = key;
  }
  barrier();

  // Greedy needs only the argmax found above (there is no noise then).
  if ((pc.flags & SAMPLING_FLAG_GREEDY) != 0u) {
    if (lane == 0u) {
      uint id = red_id[0];
      candidates[row * pc.candidates] =
          Candidate(id, id == SAMPLING_NO_ID ? NEG_INF : red_key[0]);
    }
    return;
  }

  // Which columns are candidates: all of them when they fit, otherwise keys
  // above the C-th largest, plus the lowest-column ties equal to it.
  uint threshold = 0u;           // keys >= this may be kept
  uint last_tied_column = ~0u;  // ties at the threshold kept up to this column
  if (pc.vocab_valid > pc.candidates) {
    threshold = radix_select(row, pc.candidates, false, 0u);
    uint ties_needed = sel_rank, ties = sel_equal;
    barrier();
    if (ties_needed < ties) last_tied_column = ~radix_select(row, ties_needed, true, threshold);
  }
  if (lane == 0u) cand_count = 0u;
  barrier();
  for (uint j = lane; j < pc.vocab_valid; j += WORKGROUP) {
    uint key = order_key(processed_logit(row, j));
    if (key > threshold || (key == threshold && j <= last_tied_column)) {
      uint slot = atomicAdd(cand_count, 1u);
      sort_key[slot] = key;
      sort_id[slot] = pc.vocab_offset + j;
    }
  }
  barrier();
  const uint count = cand_count;
  uint n = 1u;
  while (n < count) n <<= 1u;
  // Key 0 lies below -inf's key, so empty slots sort last.
  for (uint i = count + lane; i < n; i += WORKGROUP) {
    sort_key[i] = 0u;
    sort_id[i] = SAMPLING_NO_ID;
  }
  barrier();

  // Bitonic sort of the n (a power of two, <= 256) entries, best first.
  for (uint size = 2u; size <= n; size <<= 1u) {
    for (uint stride = size >> 1u; stride > 0u; stride >>= 1u) {
      for (uint i = lane; i < n; i += WORKGROUP) {
        uint partner = i ^ stride;
        if (partner <= i) continue;
        bool forward = (i & size) == 0u;
        if (forward ? sorts_before(partner, i) : sorts_before(i, partner)) {
          uint k = sort_key[i], d = sort_id[i];
          sort_key[i] = sort_key[partner];
          sort_id[i] = sort_id[partner];
          sort_key[partner] = k;
          sort_id[partner] = d;
        }
      }
      barrier();
    }
  }

  for (uint i = lane; i < pc.candidates; i += WORKGROUP) {
    Candidate c = Candidate(SAMPLING_NO_ID, NEG_INF);
    if (i < count) c = Candidate(sort_id[i], key_value(sort_key[i]));
    candidates[row * pc.candidates + i] = c;
  }
}
