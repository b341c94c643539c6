// Scalar fp16/bf16 <-> fp32 conversions used when weights are streamed out of
// a checkpoint. They are bit manipulations (no F16C, no _Float16) so they are
// portable, branch-light and exactly reproducible: f32 -> f16 and f32 -> bf16
// round to nearest even like numpy and torch, subnormals are exact, infinities
// stay infinities and NaNs stay (quiet) NaNs.
#pragma once

#include <bit>
#include <cstdint>

namespace vkinfer {

inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) {  // inf or NaN: keep the payload
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  }
  if (exponent != 0) {  // normal: rebias 15 -> 127
    return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  }
  // Zero or subnormal: mantissa * 2^-24 is exact in f32.
  const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
  return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(magnitude));
}

// Round-to-nearest-even; after F. Giesen's float_to_half_fast3_rtne.
inline uint16_t f32_to_f16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x47800000u) {  // >= 65536, inf or NaN
    if (magnitude > 0x7f800000u) {
      // Quiet NaN, keep the top payload bits so NaN-ness never gets lost.
      return sign | 0x7e00u | static_cast<uint16_t>((magnitude >> 13) & 0x1ffu);
    }
    return sign | 0x7c00u;
  }
  if (magnitude < 0x38800000u) {
    // Below the smallest normal half (2^-14): adding 0.5f lines the value up
    // so the FPU's own round-to-nearest-even produces the subnormal mantissa
    // in the low bits.
    const float shifted = std::bit_cast<float>(magnitude) + 0.5f;
    return sign | static_cast<uint16_t>(std::bit_cast<uint32_t>(shifted) - 0x3f000000u);
  }
  const uint32_t mantissa_odd = (magnitude >> 13) & 1u;
  magnitude += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu + mantissa_odd;
  // A carry out of the mantissa bumps the exponent, which is the correct
  // result, including 65520..65535 becoming inf.
  return sign | static_cast<uint16_t>(magnitude >> 13);
}

inline float bf16_to_f32(uint16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

inline uint16_t f32_to_bf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((bits >> 16) | 0x40u);  // stay a quiet NaN
  }
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

}  // namespace vkinfer
