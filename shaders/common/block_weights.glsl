// GGUF block-quantized weights on the device (WEIGHT_BLOCKS with one of
// WEIGHT_Q8_0, _Q4_0, _Q4_1, _Q5_0, _Q5_1, _Q4_K, _Q5_K, _Q6_K), dequantized in
// registers eight weights at a time; nothing is widened in memory.
//
// The loader splits each GGUF block into two arrays (engine/weights/
// block_layout.h): its quants, a multiple of 16 bytes read as uvec4
// (through texel views where those are fastest), and its scales ("meta": d,
// m or dmin, the fifth bits, the sub-block scales), read as uints. GGUF's
// own blocks are 18, 22, 34 or 210 bytes, so their quants would sit at
// 2-byte alignment; split, every load is a whole aligned word. A block's
// quants are QUANT_TEXELS uvec4 at block * QUANT_TEXELS, its meta
// META_WORDS uints at block * META_WORDS (Q8_0 and Q4_0 keep only d: two
// blocks' scales share a word).
//
// Every dequantization computes as gguf.quants.dequantize does (the
// reference, engine/weights/block_formats.cpp), so the weights the kernels
// use are bit-identical to it.
//
// BLOCK_LOAD8(RAW, META, block, s, lo, hi) gives weights 8s..8s+7 of a block;
// RAW(i) fetches quant texel i, META(i) meta word i. BLOCK_AFFINE8 gives the
// same weights as a * q + b (q the raw quants as floats), so a GEMV takes
// a * dot(x, q) + b * sum(x) and leaves the per-weight scaling out of its
// inner loop; its rounding differs from dequantize-then-multiply, so the
// kernels that must match the reference bit for bit use BLOCK_LOAD8.

float block_half_lo(uint word) { return unpackHalf2x16(word).x; }
float block_half_hi(uint word) { return unpackHalf2x16(word).y; }

// Bytes 0..3 of a word as signed (Q8_0) or as 4-bit fields at `shift`.
vec4 block_i8x4(uint word) { return vec4(ivec4(uvec4(word) << uvec4(24u, 16u, 8u, 0u)) >> 24); }
uvec4 block_nibbles(uint word, uint shift) {
  return (uvec4(word) >> (uvec4(0u, 8u, 16u, 24u) + shift)) & 15u;
}
// Bits b..b+3 of `bits`, each moved to bit 4 (the fifth bit of Q5 weights).
uvec4 block_fifth_bits(uint bits, uint b) { return ((uvec4(bits) >> (uvec4(0u, 1u, 2u, 3u) + b)) & 1u) << 4; }

#if defined(WEIGHT_Q4_K) || defined(WEIGHT_Q5_K)
// The K-quants' 12 bytes of packed 6-bit scales and mins (three words):
uint q4k_byte(uvec3 scales, uint j) { return (scales[j >> 2u] >> (8u * (j & 3u))) & 0xffu; }
// sub-block j's scale (x) and min (y), as ggml packs them.
uvec2 q4k_scale_min(uvec3 scales, uint j) {
  if (j < 4u) return uvec2(q4k_byte(scales, j) & 63u, q4k_byte(scales, j + 4u) & 63u);
  const uint packed = q4k_byte(scales, j + 4u);
  return uvec2((packed & 15u) | ((q4k_byte(scales, j - 4u) >> 6u) << 4u),
               (packed >> 4u) | ((q4k_byte(scales, j) >> 6u) << 4u));
}
#endif

// Each format's BLOCK_QUANTS(RAW, META, blk, s) declares the raw quants of
// weights 8s..8s+7 (uvec4 q_lo, q_hi) and the block's scales; BLOCK_LOAD8
// and BLOCK_AFFINE8 build on it, each in the arithmetic it needs. Its
// locals end in '_' and must not reuse a caller's argument names
// (matmul_io.glsl passes block_ and sub_).
#if defined(WEIGHT_Q8_0)
// 32 weights: d; 32 int8. x = q * d.
#define BLOCK_ELEMENTS 32u
#define QUANT_TEXELS 2u
#define BLOCK_QUANTS(RAW, META, blk, s)                                          \
  uvec4 t_ = RAW((blk) * 2u + ((s) >> 1u));                                    \
  uvec2 q_ = ((s) & 1u) == 0u ? t_.xy : t_.zw;                                  \
  uint dw_ = META((blk) >> 1u);                                                \
  float d = ((blk) & 1u) == 0u ? block_half_lo(dw_) : block_half_hi(dw_);      \
  vec4 q_lo = block_i8x4(q_.x), q_hi = block_i8x4(q_.y);
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  { BLOCK_QUANTS(RAW, META, blk, s) lo = d * q_lo; hi = d * q_hi; }
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  { BLOCK_QUANTS(RAW, META, blk, s) a = d; b = 0.0; qlo = q_lo; qhi = q_hi; }
#elif defined(WEIGHT_Q4_0) || defined(WEIGHT_Q4_1) || defined(WEIGHT_Q5_0) || defined(WEIGHT_Q5_1)
// 32 weights: d (Q4_1, Q5_1: and m); Q5: the fifth bits (bit j: weight j);
// 16 bytes whose low nibbles are weights 0..15 and high nibbles 16..31.
// Q4_0: x = (q - 8) * d; Q5_0: (q - 16) * d; Q4_1, Q5_1: q * d + m. Meta:
// Q4_0 d (two blocks a word), Q4_1 d | m << 16, Q5 that word then qh.
#define BLOCK_ELEMENTS 32u
#define QUANT_TEXELS 1u
#if defined(WEIGHT_Q4_0)
#define BLOCK_SCALES(META, blk)                                                  \
  uint dw_ = META((blk) >> 1u);                                                \
  float d = ((blk) & 1u) == 0u ? block_half_lo(dw_) : block_half_hi(dw_), m = 0.0; \
  uint qh_ = 0u;
#elif defined(WEIGHT_Q4_1)
#define BLOCK_SCALES(META, blk)                                                  \
  uint dw_ = META(blk);                                                        \
  float d = block_half_lo(dw_), m = block_half_hi(dw_);                        \
  uint qh_ = 0u;
#else
#define BLOCK_SCALES(META, blk)                                                  \
  uint dw_ = META((blk) * 2u);                                                 \
  float d = block_half_lo(dw_), m = block_half_hi(dw_);                        \
  uint qh_ = META((blk) * 2u + 1u);
#endif
#if defined(WEIGHT_Q4_0)
#define BLOCK_OFFSET 8
#elif defined(WEIGHT_Q5_0)
#define BLOCK_OFFSET 16
#endif
#ifdef BLOCK_OFFSET
#define BLOCK_VALUE(q, d, m) (vec4(ivec4(q) - BLOCK_OFFSET) * (d))
#define BLOCK_B(d, m) (-float(BLOCK_OFFSET) * (d))
#else
#define BLOCK_VALUE(q, d, m) (vec4(q) * (d) + (m))
#define BLOCK_B(d, m) (m)
#endif
#define BLOCK_QUANTS(RAW, META, blk, s)                                          \
  uvec4 t_ = RAW(blk);                                                         \
  uvec2 q_ = ((s) & 1u) == 0u ? t_.xy : t_.zw;                                  \
  uint shift_ = ((s) >> 1u) * 4u;                                              \
  BLOCK_SCALES(META, blk)                                                      \
  uvec4 q_lo = block_nibbles(q_.x, shift_) | block_fifth_bits(qh_, 8u * (s));  \
  uvec4 q_hi = block_nibbles(q_.y, shift_) | block_fifth_bits(qh_, 8u * (s) + 4u);
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  { BLOCK_QUANTS(RAW, META, blk, s) lo = BLOCK_VALUE(q_lo, d, m); hi = BLOCK_VALUE(q_hi, d, m); }
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  { BLOCK_QUANTS(RAW, META, blk, s) a = d; b = BLOCK_B(d, m); qlo = vec4(q_lo); qhi = vec4(q_hi); }
#elif defined(WEIGHT_Q4_K) || defined(WEIGHT_Q5_K)
// 256 weights in 8 sub-blocks of 32: d, dmin; 12 bytes of 6-bit scales and
// mins (meta: four words, d | dmin << 16 then the 12 bytes). Quants: Q5_K's
// 32 bytes of fifth bits (bit s of byte l: weight l of sub-block s), then
// 128 bytes where each 32-byte run holds sub-block 2c in its low nibbles
// and 2c + 1 in its high ones. x = (d * sc) * q - dmin * m.
#define BLOCK_ELEMENTS 256u
#if defined(WEIGHT_Q5_K)
#define QUANT_TEXELS 10u
#define NIBBLE_TEXELS 2u  // after the fifth bits
#define K_FIFTH_BITS(RAW, blk, at, sub)                                          \
  uvec4 th_ = RAW((blk) * QUANT_TEXELS + ((at) >> 4u));                         \
  uvec2 h_ = ((at) & 8u) == 0u ? th_.xy : th_.zw;                                \
  q_lo |= ((uvec4(h_.x) >> (uvec4(0u, 8u, 16u, 24u) + (sub))) & 1u) << 4;      \
  q_hi |= ((uvec4(h_.y) >> (uvec4(0u, 8u, 16u, 24u) + (sub))) & 1u) << 4;
#else
#define QUANT_TEXELS 8u
#define NIBBLE_TEXELS 0u
#define K_FIFTH_BITS(RAW, blk, at, sub)
#endif
#define BLOCK_QUANTS(RAW, META, blk, s)                                          \
  uint k_sub_ = (s) >> 2u, k_at_ = ((s) & 3u) * 8u;                                \
  uvec4 t_ = RAW((blk) * QUANT_TEXELS + NIBBLE_TEXELS + (k_sub_ >> 1u) * 2u + (k_at_ >> 4u)); \
  uvec2 q_ = (k_at_ & 8u) == 0u ? t_.xy : t_.zw;                                  \
  uint shift_ = (k_sub_ & 1u) * 4u;                                              \
  uint dw_ = META((blk) * 4u);                                                 \
  uvec3 scales_ = uvec3(META((blk) * 4u + 1u), META((blk) * 4u + 2u), META((blk) * 4u + 3u)); \
  uvec2 sm_ = q4k_scale_min(scales_, k_sub_);                                    \
  float d = block_half_lo(dw_) * float(sm_.x), dm = block_half_hi(dw_) * float(sm_.y); \
  uvec4 q_lo = block_nibbles(q_.x, shift_), q_hi = block_nibbles(q_.y, shift_); \
  K_FIFTH_BITS(RAW, blk, k_at_, k_sub_)
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  { BLOCK_QUANTS(RAW, META, blk, s) lo = d * vec4(q_lo) - dm; hi = d * vec4(q_hi) - dm; }
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  { BLOCK_QUANTS(RAW, META, blk, s) a = d; b = -dm; qlo = vec4(q_lo); qhi = vec4(q_hi); }
#elif defined(WEIGHT_Q6_K)
// 256 weights in two halves of 128: 128 bytes of low nibbles, 64 bytes of
// high 2-bit pairs, 16 int8 scales (one per 16 weights), d. In half n,
// weight 32k + l (k < 4, l < 32) takes the low (k < 2) or high nibble of
// ql[64n + 32(k & 1) + l] and bits 2k, 2k+1 of qh[32n + l]:
// x = (d * sc) * (q - 32). Quants: ql then qh (12 texels); meta: the 16
// scales, then d (5 words).
#define BLOCK_ELEMENTS 256u
#define QUANT_TEXELS 12u
#define BLOCK_QUANTS(RAW, META, blk, s)                                          \
  uint half_ = (s) >> 4u, r_ = ((s) & 15u) * 8u, k_ = r_ >> 5u, l_ = r_ & 31u; \
  uvec4 tl_ = RAW((blk) * 12u + ((64u * half_ + 32u * (k_ & 1u) + l_) >> 4u)); \
  uvec4 th_ = RAW((blk) * 12u + 8u + ((32u * half_ + l_) >> 4u));             \
  uvec2 ql_ = (l_ & 8u) == 0u ? tl_.xy : tl_.zw;                                \
  uvec2 qh_ = (l_ & 8u) == 0u ? th_.xy : th_.zw;                                \
  uint shift_ = (k_ >> 1u) * 4u;                                               \
  uint sc_index_ = 8u * half_ + (l_ >> 4u) + 2u * k_;                          \
  int sc_ = bitfieldExtract(int(META((blk) * 5u + (sc_index_ >> 2u))), int(8u * (sc_index_ & 3u)), 8); \
  float d = block_half_lo(META((blk) * 5u + 4u)) * float(sc_);                 \
  uvec4 q_lo = block_nibbles(ql_.x, shift_) | (((uvec4(qh_.x) >> (uvec4(0u, 8u, 16u, 24u) + 2u * k_)) & 3u) << 4); \
  uvec4 q_hi = block_nibbles(ql_.y, shift_) | (((uvec4(qh_.y) >> (uvec4(0u, 8u, 16u, 24u) + 2u * k_)) & 3u) << 4);
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  { BLOCK_QUANTS(RAW, META, blk, s) lo = d * vec4(ivec4(q_lo) - 32); hi = d * vec4(ivec4(q_hi) - 32); }
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  { BLOCK_QUANTS(RAW, META, blk, s) a = d; b = -32.0 * d; qlo = vec4(q_lo); qhi = vec4(q_hi); }
#else
#error "block_weights.glsl: define one WEIGHT_Q* format"
#endif

#define GROUPS_PER_BLOCK (BLOCK_ELEMENTS / 8u)
