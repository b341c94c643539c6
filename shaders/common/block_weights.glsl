// GGUF block-quantized weights on the device (WEIGHT_BLOCKS with one of
// WEIGHT_Q8_0, _Q4_0, _Q4_1, _Q5_0, _Q5_1, _Q4_K, _Q6_K), dequantized in
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

#if defined(WEIGHT_Q8_0)
// 32 weights: d; 32 int8. x = q * d.
#define BLOCK_ELEMENTS 32u
#define QUANT_TEXELS 2u
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  {                                                                              \
    uvec4 t = RAW((blk) * 2u + ((s) >> 1u));                                     \
    uvec2 q = ((s) & 1u) == 0u ? t.xy : t.zw;                                    \
    uint dw = META((blk) >> 1u);                                                 \
    float d = ((blk) & 1u) == 0u ? block_half_lo(dw) : block_half_hi(dw);        \
    lo = d * block_i8x4(q.x);                                                    \
    hi = d * block_i8x4(q.y);                                                    \
  }
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  {                                                                              \
    uvec4 t = RAW((blk) * 2u + ((s) >> 1u));                                     \
    uvec2 q = ((s) & 1u) == 0u ? t.xy : t.zw;                                    \
    uint dw = META((blk) >> 1u);                                                 \
    a = ((blk) & 1u) == 0u ? block_half_lo(dw) : block_half_hi(dw);              \
    b = 0.0;                                                                     \
    qlo = block_i8x4(q.x);                                                       \
    qhi = block_i8x4(q.y);                                                       \
  }
#elif defined(WEIGHT_Q4_0) || defined(WEIGHT_Q4_1)
// 32 weights: d (Q4_1: and m); 16 bytes whose low nibbles are weights 0..15
// and high nibbles 16..31. Q4_0: x = (q - 8) * d; Q4_1: x = q * d + m.
#define BLOCK_ELEMENTS 32u
#define QUANT_TEXELS 1u
#if defined(WEIGHT_Q4_0)
#define BLOCK_SCALES(META, blk, d, m)                                            \
  uint dw = META((blk) >> 1u);                                                   \
  float d = ((blk) & 1u) == 0u ? block_half_lo(dw) : block_half_hi(dw);          \
  const float m = 0.0;
#define BLOCK_VALUE(q, d, m) (vec4(ivec4(q) - 8) * (d))
#define BLOCK_OFFSET(d, m) (-8.0 * (d))
#else
#define BLOCK_SCALES(META, blk, d, m)                                            \
  uint dw = META(blk);                                                           \
  float d = block_half_lo(dw), m = block_half_hi(dw);
#define BLOCK_VALUE(q, d, m) (vec4(q) * (d) + (m))
#define BLOCK_OFFSET(d, m) (m)
#endif
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  {                                                                              \
    uvec4 t = RAW(blk);                                                          \
    uvec2 q = ((s) & 1u) == 0u ? t.xy : t.zw;                                    \
    uint shift = ((s) >> 1u) * 4u;                                               \
    BLOCK_SCALES(META, blk, d, m)                                                \
    a = d;                                                                       \
    b = BLOCK_OFFSET(d, m);                                                      \
    qlo = vec4(block_nibbles(q.x, shift));                                       \
    qhi = vec4(block_nibbles(q.y, shift));                                       \
  }
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  {                                                                              \
    uvec4 t = RAW(blk);                                                          \
    uvec2 q = ((s) & 1u) == 0u ? t.xy : t.zw;                                    \
    uint shift = ((s) >> 1u) * 4u;                                               \
    BLOCK_SCALES(META, blk, d, m)                                                \
    lo = BLOCK_VALUE(block_nibbles(q.x, shift), d, m);                           \
    hi = BLOCK_VALUE(block_nibbles(q.y, shift), d, m);                           \
  }
#elif defined(WEIGHT_Q5_0) || defined(WEIGHT_Q5_1)
// 32 weights: d (Q5_1: and m), the fifth bits (bit j: weight j), 16 bytes
// of nibbles as Q4. Meta is two words: d | m << 16 (Q5_0: d), then qh.
// Q5_0: x = (q - 16) * d; Q5_1: x = q * d + m.
#define BLOCK_ELEMENTS 32u
#define QUANT_TEXELS 1u
#if defined(WEIGHT_Q5_0)
#define BLOCK_VALUE(q, d, m) (vec4(ivec4(q) - 16) * (d))
#define BLOCK_OFFSET(d, m) (-16.0 * (d))
#else
#define BLOCK_VALUE(q, d, m) (vec4(q) * (d) + (m))
#define BLOCK_OFFSET(d, m) (m)
#endif
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  {                                                                              \
    uvec4 t = RAW(blk);                                                          \
    uvec2 q = ((s) & 1u) == 0u ? t.xy : t.zw;                                    \
    uint shift = ((s) >> 1u) * 4u;                                               \
    uint dw = META((blk) * 2u), qh = META((blk) * 2u + 1u);                      \
    a = block_half_lo(dw);                                                       \
    b = BLOCK_OFFSET(a, block_half_hi(dw));                                      \
    qlo = vec4(block_nibbles(q.x, shift) | block_fifth_bits(qh, 8u * (s)));      \
    qhi = vec4(block_nibbles(q.y, shift) | block_fifth_bits(qh, 8u * (s) + 4u)); \
  }
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  {                                                                              \
    uvec4 t = RAW(blk);                                                          \
    uvec2 q = ((s) & 1u) == 0u ? t.xy : t.zw;                                    \
    uint shift = ((s) >> 1u) * 4u;                                               \
    uint dw = META((blk) * 2u), qh = META((blk) * 2u + 1u);                      \
    float d = block_half_lo(dw), m = block_half_hi(dw);                          \
    lo = BLOCK_VALUE(block_nibbles(q.x, shift) | block_fifth_bits(qh, 8u * (s)), d, m);      \
    hi = BLOCK_VALUE(block_nibbles(q.y, shift) | block_fifth_bits(qh, 8u * (s) + 4u), d, m); \
  }
#elif defined(WEIGHT_Q4_K)
// 256 weights in 8 sub-blocks of 32: d, dmin; 12 bytes of 6-bit scales and
// mins; 128 bytes where each 32-byte run holds sub-block 2c in its low
// nibbles and 2c + 1 in its high ones. x = (d * sc) * q - dmin * m. Meta is
// four words: d | dmin << 16, then the 12 scale bytes.
#define BLOCK_ELEMENTS 256u
#define QUANT_TEXELS 8u
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  {                                                                              \
    uint sub = (s) >> 2u, at = ((s) & 3u) * 8u;                                  \
    uvec4 t = RAW((blk) * 8u + (sub >> 1u) * 2u + (at >> 4u));                   \
    uvec2 q = (at & 8u) == 0u ? t.xy : t.zw;                                     \
    uint shift = (sub & 1u) * 4u;                                                \
    uint dw = META((blk) * 4u);                                                  \
    uvec3 scales = uvec3(META((blk) * 4u + 1u), META((blk) * 4u + 2u), META((blk) * 4u + 3u)); \
    uvec2 sm = q4k_scale_min(scales, sub);                                       \
    float d = block_half_lo(dw) * float(sm.x), dm = block_half_hi(dw) * float(sm.y); \
    lo = d * vec4(block_nibbles(q.x, shift)) - dm;                               \
    hi = d * vec4(block_nibbles(q.y, shift)) - dm;                               \
  }
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  {                                                                              \
    uint sub = (s) >> 2u, at = ((s) & 3u) * 8u;                                  \
    uvec4 t = RAW((blk) * 8u + (sub >> 1u) * 2u + (at >> 4u));                   \
    uvec2 q = (at & 8u) == 0u ? t.xy : t.zw;                                     \
    uint shift = (sub & 1u) * 4u;                                                \
    uint dw = META((blk) * 4u);                                                  \
    uvec3 scales = uvec3(META((blk) * 4u + 1u), META((blk) * 4u + 2u), META((blk) * 4u + 3u)); \
    uvec2 sm = q4k_scale_min(scales, sub);                                       \
    a = block_half_lo(dw) * float(sm.x);                                         \
    b = -(block_half_hi(dw) * float(sm.y));                                      \
    qlo = vec4(block_nibbles(q.x, shift));                                       \
    qhi = vec4(block_nibbles(q.y, shift));                                       \
  }
#elif defined(WEIGHT_Q5_K)
// Q4_K with a fifth bit: d, dmin and the packed 6-bit scales and mins (meta,
// four words, as Q4_K); quants are 32 bytes of fifth bits (bit s of byte l:
// weight l of sub-block s) then Q4_K's 128 bytes of nibbles (10 texels).
// x = (d * sc) * (nibble + 16 * bit) - dmin * m.
#define BLOCK_ELEMENTS 256u
#define QUANT_TEXELS 10u
// Weights at..at+7 of sub-block `sub` as 5-bit values, and the scale pair.
#define Q5K_QUANTS(RAW, META, blk, s, qlo, qhi, d, dm)                          \
  uint sub = (s) >> 2u, at = ((s) & 3u) * 8u;                                  \
  uvec4 t = RAW((blk) * 10u + 2u + (sub >> 1u) * 2u + (at >> 4u));             \
  uvec2 q = (at & 8u) == 0u ? t.xy : t.zw;                                     \
  uvec4 th = RAW((blk) * 10u + (at >> 4u));                                    \
  uvec2 h = (at & 8u) == 0u ? th.xy : th.zw;                                   \
  uint shift = (sub & 1u) * 4u;                                                \
  uint dw = META((blk) * 4u);                                                  \
  uvec3 scales = uvec3(META((blk) * 4u + 1u), META((blk) * 4u + 2u), META((blk) * 4u + 3u)); \
  uvec2 sm = q4k_scale_min(scales, sub);                                       \
  float d = block_half_lo(dw) * float(sm.x), dm = block_half_hi(dw) * float(sm.y); \
  uvec4 qlo = block_nibbles(q.x, shift) | (((uvec4(h.x) >> (uvec4(0u, 8u, 16u, 24u) + sub)) & 1u) << 4); \
  uvec4 qhi = block_nibbles(q.y, shift) | (((uvec4(h.y) >> (uvec4(0u, 8u, 16u, 24u) + sub)) & 1u) << 4);
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  {                                                                              \
    Q5K_QUANTS(RAW, META, blk, s, qlo_, qhi_, d, dm)                             \
    lo = d * vec4(qlo_) - dm;                                                    \
    hi = d * vec4(qhi_) - dm;                                                    \
  }
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  {                                                                              \
    Q5K_QUANTS(RAW, META, blk, s, qlo_, qhi_, d, dm)                             \
    a = d;                                                                       \
    b = -dm;                                                                     \
    qlo = vec4(qlo_);                                                            \
    qhi = vec4(qhi_);                                                            \
  }
#elif defined(WEIGHT_Q6_K)
// 256 weights in two halves of 128: 128 bytes of low nibbles, 64 bytes of
// high 2-bit pairs, 16 int8 scales (one per 16 weights), d. In half n,
// weight 32k + l_ (k_ < 4, l_ < 32) takes the low (k_ < 2) or high nibble of
// ql[64n + 32(k_ & 1) + l_] and bits 2k, 2k+1 of qh[32n + l_]:
// x = (d * sc) * (q - 32). Quants: ql then qh (12 texels); meta: the 16
// scales, then d (5 words).
#define BLOCK_ELEMENTS 256u
#define QUANT_TEXELS 12u
#define BLOCK_LOAD8(RAW, META, blk, s, lo, hi)                                   \
  {                                                                              \
    uint half_ = (s) >> 4u, r_ = ((s) & 15u) * 8u, k_ = r_ >> 5u, l_ = r_ & 31u;     \
    uvec4 tl = RAW((blk) * 12u + ((64u * half_ + 32u * (k_ & 1u) + l_) >> 4u));    \
    uvec4 th = RAW((blk) * 12u + 8u + ((32u * half_ + l_) >> 4u));                \
    uvec2 ql = (l_ & 8u) == 0u ? tl.xy : tl.zw;                                   \
    uvec2 qh = (l_ & 8u) == 0u ? th.xy : th.zw;                                   \
    uint shift = (k_ >> 1u) * 4u;                                                 \
    uint sc_index = 8u * half_ + (l_ >> 4u) + 2u * k_;                             \
    int sc = bitfieldExtract(int(META((blk) * 5u + (sc_index >> 2u))), int(8u * (sc_index & 3u)), 8); \
    float d = block_half_lo(META((blk) * 5u + 4u)) * float(sc);                  \
    lo = d * vec4(ivec4(block_nibbles(ql.x, shift) | (((uvec4(qh.x) >> (uvec4(0u, 8u, 16u, 24u) + 2u * k_)) & 3u) << 4)) - 32); \
    hi = d * vec4(ivec4(block_nibbles(ql.y, shift) | (((uvec4(qh.y) >> (uvec4(0u, 8u, 16u, 24u) + 2u * k_)) & 3u) << 4)) - 32); \
  }
#define BLOCK_AFFINE8(RAW, META, blk, s, qlo, qhi, a, b)                         \
  {                                                                              \
    uint half_ = (s) >> 4u, r_ = ((s) & 15u) * 8u, k_ = r_ >> 5u, l_ = r_ & 31u; \
    uvec4 tl = RAW((blk) * 12u + ((64u * half_ + 32u * (k_ & 1u) + l_) >> 4u));  \
    uvec4 th = RAW((blk) * 12u + 8u + ((32u * half_ + l_) >> 4u));              \
    uvec2 ql = (l_ & 8u) == 0u ? tl.xy : tl.zw;                                  \
    uvec2 qh = (l_ & 8u) == 0u ? th.xy : th.zw;                                  \
    uint shift = (k_ >> 1u) * 4u;                                                \
    uint sc_index = 8u * half_ + (l_ >> 4u) + 2u * k_;                           \
    int sc = bitfieldExtract(int(META((blk) * 5u + (sc_index >> 2u))), int(8u * (sc_index & 3u)), 8); \
    a = block_half_lo(META((blk) * 5u + 4u)) * float(sc);                        \
    b = -32.0 * a;                                                               \
    qlo = vec4(block_nibbles(ql.x, shift) | (((uvec4(qh.x) >> (uvec4(0u, 8u, 16u, 24u) + 2u * k_)) & 3u) << 4)); \
    qhi = vec4(block_nibbles(ql.y, shift) | (((uvec4(qh.y) >> (uvec4(0u, 8u, 16u, 24u) + 2u * k_)) & 3u) << 4)); \
  }
#else
#error "block_weights.glsl: define one WEIGHT_Q* format"
#endif

#define GROUPS_PER_BLOCK (BLOCK_ELEMENTS / 8u)
