#version 450
// y = act(alpha * a + beta * b) (b optional) over [M, N] rows with their own
// offsets and strides: residual adds, scaling and standalone activations.
// One invocation per element; y may alias a or b.
#extension GL_GOOGLE_include_directive : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WORKGROUP = 64;

#include "params/elementwise.h"
#include "common/activation.glsl"

layout(push_constant) uniform PushConstants { ELEMENTWISE_PARAMS_FIELDS } pc;

layout(std430, binding = 0) readonly buffer ABuffer { float a_data[]; };
layout(std430, binding = 1) readonly buffer BBuffer { float b_data[]; };
layout(std430, binding = 2) writeonly buffer YBuffer { float y_data[]; };

void main() {
  // Groups may be split over y when M*N exceeds the x workgroup-count limit.
  const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  const uint index = group * WORKGROUP + gl_LocalInvocationID.x;
  if (index >= pc.M * pc.N) return;
  const uint m = index / pc.N, n = index % pc.N;
  float v = pc.alpha * a_data[pc.a_offset + m * pc.a_stride + n];
  if ((pc.flags & ELEMENTWISE_FLAG_B) != 0u) v += pc.beta * b_data[pc.b_offset + m * pc.b_stride + n];
  y_data[pc.y_offset + m * pc.y_stride + n] = apply_activation(v, (pc.flags >> ELEMENTWISE_ACT_SHIFT) & 0xffu);
}
