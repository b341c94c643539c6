#include "engine/ops/rotary.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/vk/device.h"
#include "shaders/params/rotary.h"

namespace vkinfer::ops {

void split_log2_theta(float theta, float& hi, float& lo) {
  const double log2_theta = std::log2(static_cast<double>(theta));
  hi = static_cast<float>(log2_theta);
  lo = static_cast<float>(log2_theta - static_cast<double>(hi));
}

namespace {

struct RotarySpec {
  uint32_t workgroup;
};
constexpr uint32_t kWorkgroup = 64;

}  // namespace

void rotary(vk::CommandStream& stream, const RotaryArgs& args) {
  if (!args.x || !args.positions) fail(ErrorCode::kInternal, "rotary: x and positions are required");
  if (args.rotary_dim <= 0 || args.rotary_dim % 2 != 0 || args.rotary_dim > args.head_dim)
    fail(ErrorCode::kInternal, "rotary: rotary_dim {} must be even and in (0, head_dim {}]",
         args.rotary_dim, args.head_dim);
  if (!(args.theta > 1.0f)) fail(ErrorCode::kInternal, "rotary: theta {} must exceed 1", args.theta);
  if (!(args.position_divisor >= 1.0f))
    fail(ErrorCode::kInternal, "rotary: position divisor {} must be at least 1", args.position_divisor);
  const uint64_t pairs = static_cast<uint64_t>(args.M) * args.num_heads * (args.rotary_dim / 2);
  if (pairs == 0) return;
  if (pairs > UINT32_MAX) fail(ErrorCode::kInternal, "rotary: {} pairs exceed 2^32", pairs);
  vk::Device& device = stream.device();
  const vk::DeviceInfo& info = device.info();

  vk::KernelDesc desc;
  desc.shader = ShaderId::rotary;
  desc.bindings.assign(2, vk::BindingKind::kStorage);
  desc.written_bindings = 1u << 0;
  desc.push_constant_bytes = sizeof(params::RotaryParams);
  const RotarySpec spec{kWorkgroup};
  desc.spec = vk::spec_values(spec);
  desc.local_size = {spec.workgroup, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);

  params::RotaryParams p{};
  p.M = static_cast<uint32_t>(args.M);
  p.x_offset = args.x.offset;
  p.x_stride = args.x.stride;
  p.pos_offset = args.positions.offset;
  p.pos_stride = std::max<uint32_t>(args.positions.stride, 1);
  p.num_heads = static_cast<uint32_t>(args.num_heads);
  p.head_dim = static_cast<uint32_t>(args.head_dim);
  p.rotary_dim = static_cast<uint32_t>(args.rotary_dim);
  p.flags = args.interleaved ? ROTARY_FLAG_INTERLEAVED : 0u;
  // log2(theta) to ~48 bits as hi + lo: the shader's exponent e*log2(theta)
  // then carries no more error than fp32 rounding of the product itself.
  split_log2_theta(args.theta, p.log2_theta_hi, p.log2_theta_lo);
  if (args.row_theta) {
    if (p.pos_stride < 3) fail(ErrorCode::kInternal, "rotary: per-row theta needs a position stride >= 3");
    p.flags |= ROTARY_FLAG_ROW_THETA;
  }
  p.position_divisor = args.position_divisor;
  if (args.llama3.factor > 0.0f) {
    const auto& l = args.llama3;
    if (!(l.high_freq_factor > l.low_freq_factor && l.low_freq_factor > 0.0f && l.original_max_positions > 0.0f))
      fail(ErrorCode::kInternal, "rotary: llama3 frequency factors {} / {} over {} positions", l.low_freq_factor,
           l.high_freq_factor, l.original_max_positions);
    p.flags |= ROTARY_FLAG_LLAMA3;
    p.llama3_factor = l.factor;
    p.low_freq_factor = l.low_freq_factor;
    p.high_freq_factor = l.high_freq_factor;
    p.original_max_positions = l.original_max_positions;
    // Python divides in double; torch then compares the fp32 wavelengths
    // with these as fp32 scalars.
    p.low_freq_wavelen = static_cast<float>(double(l.original_max_positions) / l.low_freq_factor);
    p.high_freq_wavelen = static_cast<float>(double(l.original_max_positions) / l.high_freq_factor);
  }

  const uint64_t groups = (pairs + kWorkgroup - 1) / kWorkgroup;
  const uint32_t groups_x =
      static_cast<uint32_t>(std::min<uint64_t>(groups, info.max_workgroup_count[0]));
  const uint32_t groups_y = static_cast<uint32_t>((groups + groups_x - 1) / groups_x);
  stream.dispatch(kernel, {*args.x.buffer, *args.positions.buffer}, p, groups_x, groups_y, 1,
                  "rotary", vk::OpCost{16.0 * pairs, 30.0 * pairs});
}

}  // namespace vkinfer::ops
