// fp32 -> GGUF blocks (quantize.h). One function per block type, each
// writing one block from block_elements values; quantize_rows validates
// once, then runs the blocks (on several threads for big tensors: every
// block is independent, so the bytes do not depend on the thread count).
//
// The simple types must match gguf.quants.quantize to the bit, which
// means the same fp32 operations in the same order and no fused
// multiply-add (numpy never fuses `x * id + 8.5`): contraction is turned
// off for this file.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "engine/weights/quantize.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <system_error>
#include <thread>

#include "engine/core/error.h"
#include "engine/core/half.h"

namespace vkinfer {
namespace {

void put_half(uint8_t* p, float value) {
  const uint16_t h = f32_to_f16(value);
  p[0] = static_cast<uint8_t>(h & 0xff);
  p[1] = static_cast<uint8_t>(h >> 8);
}

// trunc(v) clamped to [0, hi], as numpy's trunc().astype(uint8).clip(0, hi)
// gives for the values these quantizers produce (never below -1).
int trunc_clamped(float v, int hi) {
  const float t = std::trunc(v);
  if (!(t > 0.0f)) return 0;
  return t > static_cast<float>(hi) ? hi : static_cast<int>(t);
}

// ggml's nearest_int: round half to even by adding 1.5 * 2^23, valid for
// |v| < 2^22; clamped first so that no input can leave that range.
int nearest_int(float v) {
  constexpr float kLimit = 4194303.0f;
  if (!(v > -kLimit)) v = -kLimit;  // also NaN
  if (v > kLimit) v = kLimit;
  const float shifted = v + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x007fffffu) - 0x00400000;
}

// ---- Q8_0: d = amax / 127, q = round(x / d) half away from zero.
void block_q8_0(const float* x, uint8_t* b) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half(b, d);
  for (int j = 0; j < 32; ++j) {
    const float q = std::round(x[j] * id);  // |q| <= 127 since |x| <= amax
    b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
  }
}

// The value of largest magnitude, the first of equals (numpy's argmax of
// abs), sign kept. Starting from x[0] keeps the sign of a zero block's first
// element, which decides the sign bit of its zero scale.
float signed_absmax(const float* x, int n) {
  float amax = std::fabs(x[0]);
  float max = x[0];
  for (int j = 1; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

// ---- Q4_0: d = max / -8 (max: the signed value of largest magnitude, which
// maps to q = 0), q = trunc(x / d + 8.5) in 0..15.
void block_q4_0(const float* x, uint8_t* b) {
  const float max = signed_absmax(x, 32);
  const float d = max / -8.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half(b, d);
  for (int j = 0; j < 16; ++j) {
    const int lo = trunc_clamped(x[j] * id + 8.5f, 15);
    const int hi = trunc_clamped(x[j + 16] * id + 8.5f, 15);
    b[2 + j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

// Smallest and largest value. Of equal values the last is kept: only
// zeros can be equal with different bits, and numpy's min/max keep the
// last zero's sign, which becomes the sign of a zero Q4_1/Q5_1 min.
void min_max(const float* x, int n, float& min, float& max) {
  min = x[0];
  max = x[0];
  for (int j = 1; j < n; ++j) {
    min = x[j] <= min ? x[j] : min;
    max = x[j] >= max ? x[j] : max;
  }
}

// ---- Q4_1: d = (max - min) / 15, m = min, q = trunc((x - min) / d + 0.5).
void block_q4_1(const float* x, uint8_t* b) {
  float min = 0.0f, max = 0.0f;
  min_max(x, 32, min, max);
  const float d = (max - min) / 15.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  put_half(b, d);
  put_half(b + 2, min);
  for (int j = 0; j < 16; ++j) {
    const int lo = trunc_clamped((x[j] - min) * id + 0.5f, 15);
    const int hi = trunc_clamped((x[j + 16] - min) * id + 0.5f, 15);
    b[4 + j] = static_cast<uint8_t>(lo | (hi << 4));
  }
}

// Q5 packing: the low nibbles as in Q4 (byte j: weight j low, j + 16 high),
// the fifth bits as a little-endian u32, bit j for weight j.
void pack_q5(const int* q, uint8_t* qh, uint8_t* qs) {
  uint32_t high = 0;
  for (int j = 0; j < 32; ++j) high |= static_cast<uint32_t>(q[j] >> 4) << j;
  for (int i = 0; i < 4; ++i) qh[i] = static_cast<uint8_t>(high >> (8 * i));
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
}

// ---- Q5_0: d = max / -16, q = trunc(x / d + 16.5) in 0..31.
void block_q5_0(const float* x, uint8_t* b) {
  const float max = signed_absmax(x, 32);
  const float d = max / -16.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int q[32];
  for (int j = 0; j < 32; ++j) q[j] = trunc_clamped(x[j] * id + 16.5f, 31);
  put_half(b, d);
  pack_q5(q, b + 2, b + 6);
}

// ---- Q5_1: d = (max - min) / 31, m = min, q = trunc((x - min) / d + 0.5).
void block_q5_1(const float* x, uint8_t* b) {
  float min = 0.0f, max = 0.0f;
  min_max(x, 32, min, max);
  const float d = (max - min) / 31.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  int q[32];
  for (int j = 0; j < 32; ++j) q[j] = trunc_clamped((x[j] - min) * id + 0.5f, 31);
  put_half(b, d);
  put_half(b + 2, min);
  pack_q5(q, b + 4, b + 8);
}

// ggml's make_qkx2_quants: fits x ~ scale * L - min (L in 0..nmax, min >= 0)
// minimizing the weighted squared error. It starts from the min/max
// rounding, then tries nstep + 1 scales around nmax / (max - min); for each
// it rounds, solves the weighted least-squares scale and min for those L,
// and keeps the best. Returns the scale; *the_min gets the min.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                       float* the_min, uint8_t* Laux, float rmin, float rdelta, int nstep) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;  // a min of 0 costs nothing and keeps the zero exact
  if (max == min) {
    std::fill(L, L + n, 0);
    *the_min = -min;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1.0f / iscale;
  float best_error = 0.0f;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
    L[i] = static_cast<uint8_t>(l);
    const float diff = scale * static_cast<float>(l) + min - x[i];
    best_error += weights[i] * diff * diff;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * static_cast<float>(l);
      sum_l2 += w * static_cast<float>(l * l);
      sum_xl += w * static_cast<float>(l) * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
        cur_error += weights[i] * diff * diff;
      }
      if (cur_error < best_error) {
        std::copy(Laux, Laux + n, L);
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Q4_K's 12 scale bytes: eight 6-bit scales and eight 6-bit mins; entries
// 0..3 in the low 6 bits of bytes 0..3 (scales) and 4..7 (mins), entries
// 4..7 split into 4 low bits in bytes 8..11 and 2 high bits on top of bytes
// 0..7 (block_formats.cpp reads it back).
void pack_scale_min_k4(const int* ls, const int* lm, uint8_t* sc) {
  std::memset(sc, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      sc[j] = static_cast<uint8_t>(ls[j]);
      sc[j + 4] = static_cast<uint8_t>(lm[j]);
    } else {
      sc[j + 4] = static_cast<uint8_t>((ls[j] & 0x0f) | ((lm[j] & 0x0f) << 4));
      sc[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      sc[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// ---- Q4_K (ggml's quantize_row_q4_K_ref): eight sub-blocks of 32, each
// fitted as scale * q - min by make_qkx2_quants with weights
// rms(sub-block) + |x| (bigger weights matter more); the scales and mins
// are then quantized to 6 bits against the block's largest (d, dmin in
// fp16) and the weights re-rounded with the scales actually stored.
void block_q4_k(const float* x, uint8_t* b) {
  uint8_t L[256];
  uint8_t Laux[32];
  float weights[32];
  float scales[8];
  float mins[8];
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = make_qkx2_quants(32, 15, xs, weights, L + 32 * j, &mins[j], Laux, -1.0f, 0.1f, 20);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  int ls[8];
  int lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = std::clamp(nearest_int(inv_scale * scales[j]), 0, 63);
    lm[j] = std::clamp(nearest_int(inv_min * mins[j]), 0, 63);
  }
  put_half(b, max_scale / 63.0f);
  put_half(b + 2, max_min / 63.0f);
  pack_scale_min_k4(ls, lm, b + 4);
  const float d_all = f16_to_f32(f32_to_f16(max_scale / 63.0f));
  const float dmin_all = f16_to_f32(f32_to_f16(max_min / 63.0f));
  for (int j = 0; j < 8; ++j) {
    const float d = d_all * static_cast<float>(ls[j]);
    if (d == 0.0f) continue;  // the sub-block dequantizes to -dm whatever L says
    const float dm = dmin_all * static_cast<float>(lm[j]);
    for (int i = 0; i < 32; ++i) {
      L[32 * j + i] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + i] + dm) / d), 0, 15));
    }
  }
  // Nibbles: four 32-byte chunks, chunk c = sub-block 2c low, 2c + 1 high.
  uint8_t* q = b + 16;
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      q[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
  }
}

// ggml's make_qx_quants with rmse_type 1 (weights x^2) and no importance
// matrix: symmetric quantization to -nmax..nmax-1 (stored + nmax); starts
// from the scale that maps the largest-magnitude value to -nmax, then tries
// 18 nearby scales and keeps the one whose least-squares fit is best.
// Returns the scale (negative when the largest-magnitude value is positive).
float make_qx_quants(int n, int nmax, const float* x, uint8_t* L) {
  float max = 0;
  float amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < 1e-15f) {  // ggml's GROUP_MAX_EPS: an all-zero group
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  float iscale = -static_cast<float>(nmax) / max;
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<uint8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l * l);
  }
  float scale = suml2 > 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = 0;
    suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l * l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        L[i] = static_cast<uint8_t>(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// ---- Q6_K (ggml's quantize_row_q6_K_ref): sixteen groups of 16, each with
// its own scale from make_qx_quants; the scales are stored as int8 against
// d = (largest-magnitude scale) / -128 in fp16, and the weights re-rounded
// to -32..31 with the stored scales.
void block_q6_k(const float* x, uint8_t* b) {
  uint8_t L[256];
  float scales[16];
  float max_scale = 0.0f;
  float max_abs_scale = 0.0f;
  for (int g = 0; g < 16; ++g) {
    scales[g] = make_qx_quants(16, 32, x + 16 * g, L + 16 * g);
    const float abs_scale = std::fabs(scales[g]);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scales[g];
    }
  }
  std::memset(b, 0, 210);
  if (max_abs_scale < 1e-15f) return;  // all-zero block: d = 0, every q irrelevant
  uint8_t* ql = b;
  uint8_t* qh = b + 128;
  int8_t* sc = reinterpret_cast<int8_t*>(b + 192);
  const float iscale = -128.0f / max_scale;
  put_half(b + 208, 1.0f / iscale);
  const float d_all = f16_to_f32(f32_to_f16(1.0f / iscale));
  for (int g = 0; g < 16; ++g) {
    sc[g] = static_cast<int8_t>(std::clamp(nearest_int(iscale * scales[g]), -128, 127));
  }
  for (int g = 0; g < 16; ++g) {
    const float d = d_all * static_cast<float>(sc[g]);
    if (d == 0.0f) continue;
    for (int i = 0; i < 16; ++i) {
      L[16 * g + i] = static_cast<uint8_t>(std::clamp(nearest_int(x[16 * g + i] / d), -32, 31) + 32);
    }
  }
  // Each 128-weight half: weight 32k + l (k = 0..3) goes to the low (k < 2)
  // or high nibble of ql[l + 32 (k & 1)] and bits 2k..2k+1 of qh[l].
  for (int half = 0; half < 2; ++half) {
    const uint8_t* Lh = L + 128 * half;
    uint8_t* hl = ql + 64 * half;
    uint8_t* hh = qh + 32 * half;
    for (int l = 0; l < 32; ++l) {
      hl[l] = static_cast<uint8_t>((Lh[l] & 0x0f) | ((Lh[l + 64] & 0x0f) << 4));
      hl[l + 32] = static_cast<uint8_t>((Lh[l + 32] & 0x0f) | ((Lh[l + 96] & 0x0f) << 4));
      hh[l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) | ((Lh[l + 64] >> 4) << 4) |
                                   ((Lh[l + 96] >> 4) << 6));
    }
  }
}

void quantize_block(GgmlType type, const float* x, uint8_t* b) {
  switch (type) {
    case GgmlType::kF32: std::memcpy(b, x, 4); return;
    case GgmlType::kF16: {
      const uint16_t h = f32_to_f16(*x);
      b[0] = static_cast<uint8_t>(h & 0xff);
      b[1] = static_cast<uint8_t>(h >> 8);
      return;
    }
    case GgmlType::kBF16: {
      const uint16_t h = f32_to_bf16(*x);
      b[0] = static_cast<uint8_t>(h & 0xff);
      b[1] = static_cast<uint8_t>(h >> 8);
      return;
    }
    case GgmlType::kQ8_0: block_q8_0(x, b); return;
    case GgmlType::kQ4_0: block_q4_0(x, b); return;
    case GgmlType::kQ4_1: block_q4_1(x, b); return;
    case GgmlType::kQ5_0: block_q5_0(x, b); return;
    case GgmlType::kQ5_1: block_q5_1(x, b); return;
    case GgmlType::kQ4_K: block_q4_k(x, b); return;
    case GgmlType::kQ6_K: block_q6_k(x, b); return;
    case GgmlType::kQ5_K: break;  // refused by quantized_bytes
  }
  fail(ErrorCode::kInternal, "quantize: unknown ggml type {}", static_cast<uint32_t>(type));
}

// Work below this many weights stays on the calling thread; above it the
// blocks are split into contiguous runs, one per hardware thread.
constexpr uint64_t kParallelWeights = uint64_t{1} << 20;

}  // namespace

uint64_t quantized_bytes(GgmlType type, int64_t rows, int64_t cols) {
  const BlockFormat* format = find_block_format(static_cast<uint32_t>(type));
  if (format == nullptr) {
    fail(ErrorCode::kInvalidArgument, "quantize: ggml type {} ({}) is not one vkinfer writes",
         static_cast<uint32_t>(type), ggml_type_name(static_cast<uint32_t>(type)));
  }
  if (type == GgmlType::kQ5_K) {
    // Read (GGUF files) but not written: no --quant recipe uses it.
    fail(ErrorCode::kInvalidArgument, "quantize: vkinfer reads Q5_K but does not quantize to it");
  }
  if (rows < 0 || cols < 0) {
    fail(ErrorCode::kInvalidArgument, "quantize {}: negative shape {} x {}", format->name, rows, cols);
  }
  if (cols % format->block_elements != 0) {
    fail(ErrorCode::kInvalidArgument,
         "quantize {}: rows of {} weights are not whole {}-weight blocks", format->name, cols,
         format->block_elements);
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(rows),
                             static_cast<uint64_t>(cols / format->block_elements * format->block_bytes),
                             &bytes)) {
    fail(ErrorCode::kInvalidArgument, "quantize {}: {} x {} overflows", format->name, rows, cols);
  }
  return bytes;
}

void quantize_rows(GgmlType type, const float* src, int64_t rows, int64_t cols, uint8_t* dst) {
  const uint64_t bytes = quantized_bytes(type, rows, cols);
  const BlockFormat& format = block_format(type);
  if (bytes == 0) return;
  if (src == nullptr || dst == nullptr) {
    fail(ErrorCode::kInvalidArgument, "quantize {}: null buffer for {} x {}", format.name, rows, cols);
  }
  const uint64_t count = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols);
  if (format.block_elements > 1) {
    for (uint64_t i = 0; i < count; ++i) {
      if (!std::isfinite(src[i])) {
        fail(ErrorCode::kInvalidArgument, "quantize {}: row {} column {} is {}; only finite values can be quantized",
             format.name, i / static_cast<uint64_t>(cols), i % static_cast<uint64_t>(cols), src[i]);
      }
    }
  }
  const uint64_t per_block = static_cast<uint64_t>(format.block_elements);
  const uint64_t block_bytes = static_cast<uint64_t>(format.block_bytes);
  const uint64_t blocks = count / per_block;
  auto run = [&](uint64_t begin, uint64_t end) {
    for (uint64_t i = begin; i < end; ++i) quantize_block(type, src + i * per_block, dst + i * block_bytes);
  };
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  if (count < kParallelWeights || threads == 1) {
    run(0, blocks);
    return;
  }
  std::vector<std::thread> pool;
  const uint64_t step = (blocks + threads - 1) / threads;
  uint64_t begin = 0;
  try {
    for (; begin < blocks; begin += step) pool.emplace_back(run, begin, std::min(blocks, begin + step));
  } catch (const std::system_error&) {
    run(begin, blocks);  // no more threads to be had: do the rest here
  }
  for (std::thread& t : pool) t.join();
}

std::vector<uint8_t> quantize_rows(GgmlType type, std::span<const float> src, int64_t rows,
                                   int64_t cols) {
  const uint64_t bytes = quantized_bytes(type, rows, cols);
  if (src.size() != static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols)) {
    fail(ErrorCode::kInvalidArgument, "quantize {}: {} values given for {} x {}",
         block_format(type).name, src.size(), rows, cols);
  }
  std::vector<uint8_t> out(bytes);
  quantize_rows(type, src.data(), rows, cols, out.data());
  return out;
}

}  // namespace vkinfer
