#include "engine/ops/elementwise.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/vk/device.h"
#include "shaders/params/elementwise.h"

namespace vkinfer::ops {
namespace {

struct ElementwiseSpec {
  uint32_t workgroup;
};
constexpr uint32_t kWorkgroup = 64;

}  // namespace

void elementwise(vk::CommandStream& stream, const ElementwiseArgs& args) {
  if (!args.a || !args.y) fail(ErrorCode::kInternal, "elementwise: a and y are required");
  const uint64_t elements = static_cast<uint64_t>(args.M) * static_cast<uint64_t>(args.N);
  if (elements == 0) return;
  if (elements > UINT32_MAX)
    fail(ErrorCode::kInternal, "elementwise: [{}, {}] exceeds 2^32 elements", args.M, args.N);
  vk::Device& device = stream.device();
  const vk::DeviceInfo& info = device.info();

  vk::KernelDesc desc;
  desc.shader = ShaderId::elementwise;
  desc.bindings.assign(3, vk::BindingKind::kStorage);
  desc.written_bindings = 1u << 2;
  desc.push_constant_bytes = sizeof(params::ElementwiseParams);
  const ElementwiseSpec spec{kWorkgroup};
  desc.spec = vk::spec_values(spec);
  desc.local_size = {spec.workgroup, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);

  params::ElementwiseParams p{};
  p.M = static_cast<uint32_t>(args.M);
  p.N = static_cast<uint32_t>(args.N);
  p.a_offset = args.a.offset;
  p.a_stride = args.a.stride;
  p.y_offset = args.y.offset;
  p.y_stride = args.y.stride;
  p.alpha = args.alpha;
  p.beta = args.beta;
  p.flags = static_cast<uint32_t>(args.act) << ELEMENTWISE_ACT_SHIFT;
  if (args.b) {
    p.flags |= ELEMENTWISE_FLAG_B;
    p.b_offset = args.b.offset;
    p.b_stride = args.b.stride;
  }
  const uint64_t groups = (elements + kWorkgroup - 1) / kWorkgroup;
  const uint32_t groups_x =
      static_cast<uint32_t>(std::min<uint64_t>(groups, info.max_workgroup_count[0]));
  const uint32_t groups_y = static_cast<uint32_t>((groups + groups_x - 1) / groups_x);
  stream.dispatch(kernel,
                  {*args.a.buffer, args.b ? *args.b.buffer : device.dummy_buffer(),
                   *args.y.buffer},
                  p, groups_x, groups_y, 1, "elementwise",
                  vk::OpCost{4.0 * elements * (args.b ? 3 : 2), 3.0 * elements});
}

}  // namespace vkinfer::ops
