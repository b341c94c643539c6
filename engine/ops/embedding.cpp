#include "engine/ops/embedding.h"

#include <algorithm>
#include <array>
#include <span>

#include "engine/core/error.h"
#include "engine/ops/weight_kernels.h"
#include "engine/vk/device.h"
#include "shaders/params/embedding.h"

namespace vkinfer::ops {
namespace {

struct EmbeddingSpec {
  uint32_t workgroup;
};
constexpr uint32_t kWorkgroup = 64;

}  // namespace

void embedding(vk::CommandStream& stream, const EmbeddingArgs& args) {
  if (!args.table || !args.ids || !args.y)
    fail(ErrorCode::kInternal, "embedding: table, ids and y are required");
  const Weight& table = *args.table;
  if (args.row_offset < 0 || args.row_offset + table.rows > int64_t(UINT32_MAX))
    fail(ErrorCode::kInternal, "embedding: row_offset {} out of range", args.row_offset);
  if (args.M == 0) return;
  vk::Device& device = stream.device();
  const vk::DeviceInfo& info = device.info();

  // Per chunk: a stacked table's chunks may differ in format.
  auto kernel_for = [&](const WeightFormat& format) -> const vk::Kernel& {
    vk::KernelDesc desc;
    desc.shader = weight_kernels(format, "embedding").embedding;
    // 0 ids, 1 table (block formats: quants), 2 y; 3 block formats' scales.
    desc.bindings.assign(format.plain() ? 3 : 4, vk::BindingKind::kStorage);
    desc.written_bindings = 1u << 2;
    desc.push_constant_bytes = sizeof(params::EmbeddingParams);
    const EmbeddingSpec spec{kWorkgroup};
    desc.spec = vk::spec_values(spec);
    desc.local_size = {spec.workgroup, 1, 1};
    return device.kernel(desc);
  };

  params::EmbeddingParams p{};
  p.M = static_cast<uint32_t>(args.M);
  p.N = static_cast<uint32_t>(table.cols);
  p.ids_offset = args.ids.offset;
  p.y_offset = args.y.offset;
  p.y_stride = args.y.stride;
  p.w_stride = static_cast<uint32_t>(table.row_stride);
  p.row_offset = static_cast<uint32_t>(args.row_offset);
  p.table_rows = static_cast<uint32_t>(table.rows);
  p.scale = args.scale;
  const uint32_t groups_x = static_cast<uint32_t>(
      std::min<int64_t>(args.M, info.max_workgroup_count[0]));
  const uint32_t groups_y = static_cast<uint32_t>((args.M + groups_x - 1) / groups_x);
  // Every chunk's dispatch sees every id and writes only the rows whose id
  // falls in it; ids outside the table are zeroed by the first dispatch, so
  // each y row is written exactly once whatever the chunking.
  for (size_t c = 0; c < table.chunks.size(); ++c) {
    const WeightChunk& chunk = table.chunks[c];
    p.chunk_begin = static_cast<uint32_t>(chunk.row_begin);
    p.chunk_rows = static_cast<uint32_t>(chunk.row_count);
    p.flags = args.accumulate ? EMBEDDING_FLAG_ACCUMULATE
                              : (c == 0 ? EMBEDDING_FLAG_ZERO_OUTSIDE : 0u);
    const bool blocks = !chunk.format.plain();
    const std::array<vk::BufferRange, 4> bindings = {*args.ids.buffer, chunk.buffer, *args.y.buffer,
                                                     blocks ? chunk.meta : chunk.buffer};
    stream.dispatch(kernel_for(chunk.format),
                    std::span<const vk::BufferRange>(bindings.data(), blocks ? 4 : 3), p, groups_x,
                    groups_y, 1, "embedding",
                    vk::OpCost{double(args.M) * (chunk.format.row_bytes(table.row_stride) + 4.0 * table.cols), 0});
  }
}

}  // namespace vkinfer::ops
