// Activations shared by fused epilogues and the activation op.
#ifndef VKINFER_ACTIVATION_GLSL
#define VKINFER_ACTIVATION_GLSL
#include "params/common.h"

// GLSL has no erf. Abramowitz & Stegun 7.1.26 has 1.5e-7 absolute error,
// below fp32 resolution of GELU's output for |x| < 8 after the 0.5*x*(1+erf).
float erf_approx(float x) {
  float s = sign(x);
  float a = abs(x);
  float t = 1.0 / (1.0 + 0.3275911 * a);
  float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t +
                   0.254829592) * t * exp(-a * a);
  return s * y;
}

// tanh(x) via exp; clamped so exp never overflows (tanh(±15) == ±1 in fp32).
float tanh_safe(float x) {
  float c = clamp(x, -15.0, 15.0);
  float e = exp(2.0 * c);
  return (e - 1.0) / (e + 1.0);
}

float apply_activation(float v, uint act) {
  if (act == ACT_GELU_ERF) return 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
  if (act == ACT_GELU_TANH)
    return 0.5 * v * (1.0 + tanh_safe(0.79788456080286536 * (v + 0.044715 * v * v * v)));
  if (act == ACT_RELU) return max(v, 0.0);
  if (act == ACT_SILU) return v / (1.0 + exp(-v));
  if (act == ACT_TANH) return tanh_safe(v);
  return v;
}
#endif
