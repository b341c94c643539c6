// Sums and maxima across the lanes of a workgroup that owns one row (norm,
// softmax). SUBGROUP: the workgroup is exactly one subgroup, so one
// subgroupAdd/Max is the whole reduction. Otherwise a shared-memory tree that
// works for any WORKGROUP, not only powers of two. Every lane gets the
// result; call from uniform control flow (both variants use barriers or
// subgroup ops). Needs `WORKGROUP` declared before inclusion.
#ifndef VKINFER_ROW_REDUCE_GLSL
#define VKINFER_ROW_REDUCE_GLSL

// Row index for a dispatch that may be split over y when M exceeds the
// device's workgroup-count limit in x.
uint row_of_workgroup() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }

#ifdef SUBGROUP
float row_sum(float v) { return subgroupAdd(v); }
float row_max(float v) { return subgroupMax(v); }
#else
shared float row_scratch[WORKGROUP];

uint row_tree_start() {
  uint p = 1u;
  while (p < WORKGROUP) p <<= 1u;
  return p >> 1u;
}

float row_sum(float v) {
  const uint lane = gl_LocalInvocationID.x;
  row_scratch[lane] = v;
  barrier();
  for (uint s = row_tree_start(); s > 0u; s >>= 1u) {
    if (lane < s && lane + s < WORKGROUP) row_scratch[lane] += row_scratch[lane + s];
    barrier();
  }
  float total = row_scratch[0];
  barrier();  // the scratch is reused by the next reduction
  return total;
}

float row_max(float v) {
  const uint lane = gl_LocalInvocationID.x;
  row_scratch[lane] = v;
  barrier();
  for (uint s = row_tree_start(); s > 0u; s >>= 1u) {
    if (lane < s && lane + s < WORKGROUP)
      row_scratch[lane] = max(row_scratch[lane], row_scratch[lane + s]);
    barrier();
  }
  float total = row_scratch[0];
  barrier();
  return total;
}
#endif
#endif
