#version 450
// Second half of sampling. One workgroup per row merges the candidate lists
// of R ranks (rank-major, as all_gather lays them out), keeps the global
// top-C, applies top-k and top-p the way transformers' warpers do, and draws
// the token with a counter-based RNG, or takes the argmax when greedy. Every
// rank runs it on the same gathered data with the same seed, so all ranks
// agree on the token without a broadcast. The chosen id goes to out_ids and
// into the row's seen bitmap, so the repetition penalty tracks generated
// tokens on the device.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;
layout(constant_id = 1) const uint CAPACITY = 256;  // power of two >= ranks * SAMPLING_MAX_CANDIDATES

#include "params/sampling.h"
#include "common/sampling_rng.glsl"

layout(push_constant) uniform PushConstants { SAMPLE_FINISH_PARAMS_FIELDS } pc;

struct Candidate { uint id; float logit; };
struct Stats { float max_logit; float sum_exp; uint gumbel_id; float gumbel_key; };
struct FinalCandidate { uint id; float prob; };

layout(std430, binding = 0) readonly buffer CandidateBuffer { Candidate all_candidates[]; };
layout(std430, binding = 1) readonly buffer StatsBuffer { Stats all_stats[]; };
layout(std430, binding = 2) buffer SeenBuffer { uint seen[]; };
layout(std430, binding = 3) writeonly buffer OutIdsBuffer { uint out_ids[]; };
layout(std430, binding = 4) writeonly buffer FinalBuffer { FinalCandidate final_candidates[]; };

// -inf, spelled out because GLSL has no literal for it.
#define NEG_INF uintBitsToFloat(0xff800000u)

// Same order-preserving keys as sample_candidates.
uint order_key(float x) {
  uint u = floatBitsToUint(x);
  if (u == 0x80000000u) u = 0u;
  return (u & 0x80000000u) != 0u ? ~u : (u | 0x80000000u);
}
float key_value(uint key) {
  return uintBitsToFloat((key & 0x80000000u) != 0u ? (key & 0x7fffffffu) : ~key);
}

shared uint sort_key[CAPACITY];
shared uint sort_id[CAPACITY];
shared float probs[SAMPLING_MAX_CANDIDATES];

bool sorts_before(uint a, uint b) {
  return sort_key[a] > sort_key[b] || (sort_key[a] == sort_key[b] && sort_id[a] < sort_id[b]);
}

// Probabilities of the merged list's first `kept` entries and the index drawn
// from them. Runs on one lane: at most 256 entries once per token, cheaper
// than the barriers a parallel scan would need.
uint draw(uint row, uint real) {
  const bool greedy = (pc.flags & SAMPLING_FLAG_GREEDY) != 0u;
  for (uint i = 0u; i < pc.candidates; ++i) probs[i] = 0.0;
  const float top = key_value(sort_key[0]);
  // No finite logit at all (or greedy): the first entry, as torch.argmax does.
  if (greedy || top == NEG_INF) {
    probs[0] = 1.0;
    return 0u;
  }

  // TopKLogitsWarper keeps every logit >= the k-th largest, ties included.
  uint kept = real;
  if (pc.top_k > 0u && pc.top_k < real) {
    kept = pc.top_k;
    while (kept < real && sort_key[kept] == sort_key[pc.top_k - 1u]) ++kept;
  }
  // After top-k, softmax normalises over the kept tokens; without it, over the
  // whole vocab, from the ranks' (max, sum exp).
  float norm_max = top, norm_sum = 0.0;
  if (pc.top_k > 0u) {
    for (uint i = 0u; i < kept; ++i) norm_sum += exp(key_value(sort_key[i]) - top);
  } else {
    norm_max = NEG_INF;
    for (uint r = 0u; r < pc.ranks; ++r) norm_max = max(norm_max, all_stats[r * pc.rows + row].max_logit);
    for (uint r = 0u; r < pc.ranks; ++r) {
      Stats st = all_stats[r * pc.rows + row];
      if (st.max_logit != NEG_INF) norm_sum += st.sum_exp * exp(st.max_logit - norm_max);
    }
  }
  for (uint i = 0u; i < kept; ++i) probs[i] = exp(key_value(sort_key[i]) - norm_max) / norm_sum;

  // TopPLogitsWarper keeps the smallest prefix whose mass reaches top_p (the
  // token that crosses it included, and always the first). torch's unstable
  // sort leaves the order of tied logits undefined; we keep lower ids first.
  if (pc.top_p < 1.0) {
    float mass = 0.0;
    for (uint i = 0u; i < kept; ++i) {
      if (mass >= pc.top_p) { kept = i; break; }
      mass += probs[i];
    }
  }

  float total = 0.0;
  for (uint i = 0u; i < kept; ++i) total += probs[i];
  for (uint i = kept; i < pc.candidates; ++i) probs[i] = 0.0;
  const float target =
      total * sampling_uniform(sampling_hash(pc.seed_lo, pc.seed_hi, pc.step, row, SAMPLING_NO_ID));
  uint chosen = 0u;
  float acc = 0.0;
  for (uint i = 0u; i < kept; ++i) {
    if (probs[i] > 0.0) chosen = i;  // rounding fallback: the last kept token
    acc += probs[i];
    if (target < acc) break;
  }
  for (uint i = 0u; i < kept; ++i) probs[i] /= total;
  return chosen;
}

void main() {
  const uint row = gl_WorkGroupID.x;
  const uint lane = gl_LocalInvocationID.x;
  const uint merged = pc.ranks * pc.candidates;
  // Only the next power of two above the merged count is sorted: the
  // arrays are sized for the most any request sends (CAPACITY).
  uint capacity = 1u;
  while (capacity < merged) capacity <<= 1u;

  for (uint i = lane; i < capacity; i += WORKGROUP) {
    uint key = 0u, id = SAMPLING_NO_ID;  // key 0 lies below -inf: empty slots sort last
    if (i < merged) {
      uint r = i / pc.candidates, c = i % pc.candidates;
      Candidate cand = all_candidates[(r * pc.rows + row) * pc.candidates + c];
      if (cand.id != SAMPLING_NO_ID) {
        key = order_key(cand.logit);
        id = cand.id;
      }
    }
    sort_key[i] = key;
    sort_id[i] = id;
  }
  barrier();
  for (uint size = 2u; size <= capacity; size <<= 1u) {
    for (uint stride = size >> 1u; stride > 0u; stride >>= 1u) {
      for (uint i = lane; i < capacity; i += WORKGROUP) {
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

  // The global top-C is the same whatever R is, so R ranks pick what one
  // device would.
  if (lane == 0u) {
    uint real = 0u;
    while (real < pc.candidates && sort_id[real] != SAMPLING_NO_ID) ++real;
    uint id;
    if ((pc.flags & SAMPLING_FLAG_GUMBEL) != 0u) {
      float best_key = NEG_INF;
      id = SAMPLING_NO_ID;
      for (uint r = 0u; r < pc.ranks; ++r) {
        Stats st = all_stats[r * pc.rows + row];
        if (st.gumbel_key > best_key || (st.gumbel_key == best_key && st.gumbel_id < id)) {
          best_key = st.gumbel_key;
          id = st.gumbel_id;
        }
      }
      // Report the merged list with its exact full-vocab probabilities.
      float norm_max = NEG_INF, norm_sum = 0.0;
      for (uint r = 0u; r < pc.ranks; ++r) norm_max = max(norm_max, all_stats[r * pc.rows + row].max_logit);
      for (uint r = 0u; r < pc.ranks; ++r) {
        Stats st = all_stats[r * pc.rows + row];
        if (st.max_logit != NEG_INF) norm_sum += st.sum_exp * exp(st.max_logit - norm_max);
      }
      for (uint i = 0u; i < pc.candidates; ++i)
        probs[i] = i < real ? exp(key_value(sort_key[i]) - norm_max) / norm_sum : 0.0;
    } else {
      id = sort_id[draw(row, real)];
    }
    out_ids[row] = id;
    if (id != SAMPLING_NO_ID) atomicOr(seen[row * pc.seen_words + id / 32u], 1u << (id % 32u));
  }
  barrier();
  for (uint i = lane; i < pc.candidates; i += WORKGROUP)
    final_candidates[row * pc.candidates + i] = FinalCandidate(sort_id[i], probs[i]);
}
