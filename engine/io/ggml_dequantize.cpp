// Host dequantization of ggml block formats (ggml_dequantize.h). Each block
// decoder writes its weights in the block's element order and multiplies in
// the order gguf/quants.py does (e.g. Q4_K: (d * scale) * q - dmin * min),
// so results match the Python reference to the last bit unless the compiler
// fuses a multiply-add.
#include "engine/io/ggml_dequantize.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/core/half.h"

namespace vkinfer {
namespace {

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
float half_at(const uint8_t* p) { return f16_to_f32(le16(p)); }

// x = q * d, q int8.
void block_q8_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

// Byte j's low nibble is weight j, its high nibble weight j + 16.
void block_q4_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((qs[j] & 0x0f) - 8);
    y[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
  }
}

void block_q4_1(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const float m = half_at(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(qs[j] & 0x0f) + m;
    y[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
  }
}

// Bit j of the little-endian u32 `qh` is weight j's fifth bit.
void block_q5(const uint8_t* b, float* y, bool with_min) {
  const float d = half_at(b);
  const float m = with_min ? half_at(b + 2) : 0.0f;
  const uint8_t* p = b + (with_min ? 4 : 2);
  const uint32_t qh = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                      (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
  const uint8_t* qs = p + 4;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    if (with_min) {
      y[j] = d * static_cast<float>(lo) + m;
      y[j + 16] = d * static_cast<float>(hi) + m;
    } else {
      y[j] = d * static_cast<float>(lo - 16);
      y[j + 16] = d * static_cast<float>(hi - 16);
    }
  }
}

// Q4_K: d, dmin, 12 bytes holding eight 6-bit scales and eight 6-bit mins,
// then 128 bytes of nibbles. Sub-block s (32 weights) uses scale/min s; the
// nibbles come in four 32-byte chunks, chunk c's low nibbles being sub-block
// 2c and its high nibbles sub-block 2c + 1.
// Sub-block s's 6-bit scale and min from the 12 packed bytes of Q4_K and
// Q5_K: s < 4 in the low 6 bits of bytes s and s + 4; s >= 4 has its low 4
// bits in bytes 8..11 and its high 2 bits on top of bytes 0..7.
void k_scale_min(const uint8_t* sc, int s, int& scale, int& min) {
  if (s < 4) {
    scale = sc[s] & 63;
    min = sc[s + 4] & 63;
  } else {
    scale = (sc[s + 4] & 0x0f) | ((sc[s - 4] >> 6) << 4);
    min = (sc[s + 4] >> 4) | ((sc[s] >> 6) << 4);
  }
}

// Q4_K and Q5_K (qh non-null): sub-block s's weights are
// (d * scale) * (nibble + 16 * fifth bit) - dmin * min.
void block_k(const uint8_t* b, const uint8_t* qh, const uint8_t* qs, float* y) {
  const float d = half_at(b);
  const float dmin = half_at(b + 2);
  const uint8_t* sc = b + 4;
  for (int s = 0; s < 8; ++s) {
    int scale = 0, min = 0;
    k_scale_min(sc, s, scale, min);
    const float ds = d * static_cast<float>(scale);
    const float dm = dmin * static_cast<float>(min);
    const uint8_t* chunk = qs + 32 * (s / 2);
    const int shift = (s % 2) * 4;
    for (int l = 0; l < 32; ++l) {
      const int fifth = qh ? ((qh[l] >> s) & 1) << 4 : 0;
      y[32 * s + l] = ds * static_cast<float>(((chunk[l] >> shift) & 0x0f) | fifth) - dm;
    }
  }
}

void block_q4_k(const uint8_t* b, float* y) { block_k(b, nullptr, b + 16, y); }

// Q5_K: Q4_K's d, dmin and packed 6-bit scales and mins, then 32 bytes of
// fifth bits (bit s of qh[l] belongs to weight l of sub-block s) and Q4_K's
// 128 bytes of nibbles.
void block_q5_k(const uint8_t* b, float* y) { block_k(b, b + 16, b + 48, y); }

// Q6_K: 128 bytes of low nibbles (ql), 64 bytes of high 2-bit pairs (qh), 16
// int8 scales (one per 16 weights), then d. Each 128-weight half uses 64 ql
// bytes and 32 qh bytes: weight 32k + l (k = 0..3) takes the low (k even) or
// high (k odd) nibble of ql[l + 32 (k & 1)] and bits 2k..2k+1 of qh[l].
void block_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half_at(b + 208);
  for (int half = 0; half < 2; ++half) {
    const uint8_t* hl = ql + 64 * half;
    const uint8_t* hh = qh + 32 * half;
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        const int index = 128 * half + 32 * k + l;
        const int low = (hl[l + 32 * (k & 1)] >> (4 * (k >> 1))) & 0x0f;
        const int high = (hh[l] >> (2 * k)) & 3;
        const float ds = d * static_cast<float>(scales[index / 16]);
        y[index] = ds * static_cast<float>((low | (high << 4)) - 32);
      }
    }
  }
}

}  // namespace

void dequantize(GgmlType type, std::span<const uint8_t> bytes, std::span<float> out) {
  const BlockFormat& format = block_format(type);
  const uint64_t count = out.size();
  const uint64_t per_block = static_cast<uint64_t>(format.block_elements);
  if (count % per_block != 0 || bytes.size() != count / per_block * format.block_bytes) {
    fail(ErrorCode::kInternal, "{} dequantize: {} bytes do not hold {} weights in {}-weight blocks",
         format.name, bytes.size(), count, per_block);
  }
  const uint8_t* b = bytes.data();
  float* y = out.data();
  const uint64_t blocks = count / per_block;
  for (uint64_t i = 0; i < blocks; ++i, b += format.block_bytes, y += per_block) {
    switch (type) {
      case GgmlType::kF32: std::memcpy(y, b, 4); break;
      case GgmlType::kF16: *y = half_at(b); break;
      case GgmlType::kBF16: *y = bf16_to_f32(le16(b)); break;
      case GgmlType::kQ8_0: block_q8_0(b, y); break;
      case GgmlType::kQ4_0: block_q4_0(b, y); break;
      case GgmlType::kQ4_1: block_q4_1(b, y); break;
      case GgmlType::kQ5_0: block_q5(b, y, false); break;
      case GgmlType::kQ5_1: block_q5(b, y, true); break;
      case GgmlType::kQ4_K: block_q4_k(b, y); break;
      case GgmlType::kQ5_K: block_q5_k(b, y); break;
      case GgmlType::kQ6_K: block_q6_k(b, y); break;
    }
  }
}

std::vector<float> dequantize(GgmlType type, std::span<const uint8_t> bytes, int64_t count) {
  if (count < 0) fail(ErrorCode::kInternal, "dequantize: negative count {}", count);
  std::vector<float> out(static_cast<size_t>(count));
  dequantize(type, bytes, out);
  return out;
}

}  // namespace vkinfer
