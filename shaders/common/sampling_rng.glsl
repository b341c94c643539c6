// Counter-based random numbers for sampling: a pure function of
// (seed, step, row, id), so every tensor-parallel rank draws the same numbers
// without sharing state, and a seeded run replays exactly. PCG's output hash
// (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020) is chained
// over the words so that each one changes every output bit.
#ifndef VKINFER_SAMPLING_RNG_GLSL
#define VKINFER_SAMPLING_RNG_GLSL

uint pcg_hash(uint v) {
  uint state = v * 747796405u + 2891336453u;
  uint word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

uint sampling_hash(uint seed_lo, uint seed_hi, uint step, uint row, uint id) {
  uint h = pcg_hash(seed_lo);
  h = pcg_hash(h ^ seed_hi);
  h = pcg_hash(h ^ step);
  h = pcg_hash(h ^ row);
  return pcg_hash(h ^ id);
}

// Uniform in the open interval (0, 1) with 24 bits, so log(u) is finite.
float sampling_uniform(uint h) { return (float(h >> 8u) + 0.5) * (1.0 / 16777216.0); }
#endif
