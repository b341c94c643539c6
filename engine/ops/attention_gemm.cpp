#include "engine/ops/attention_gemm.h"

#include <algorithm>
#include <array>

#include "engine/core/error.h"
#include "engine/ops/softmax.h"
#include "engine/vk/device.h"
#include "shaders/params/attention.h"

namespace vkinfer::ops {
namespace {

struct TileSpec {
  uint32_t local_n, local_m, tile_n, tile_m;
};

int64_t round_up4(int64_t value) { return (value + 3) / 4 * 4; }

// Keys each S row holds: every key a row of the call may see.
int64_t max_keys(const AttentionArgs& args) {
  return args.causal ? args.past + args.rows_per_seq : args.rows_per_seq;
}

uint64_t scores_row_bytes(int64_t batch, int64_t heads, int64_t keys) {
  return uint64_t(batch) * heads * round_up4(keys) * 4;
}

uint32_t ceil_div(int64_t a, int64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }

}  // namespace

uint64_t attention_scores_bytes(int64_t batch, int64_t heads, int64_t rows_per_seq, int64_t keys) {
  if (rows_per_seq < kMinScoresBlockRows) return 0;
  const uint64_t row_bytes = scores_row_bytes(batch, heads, keys);
  const int64_t rows = std::min<int64_t>(rows_per_seq, kMaxScoresBytes / row_bytes);
  return rows < kMinScoresBlockRows ? 0 : rows * row_bytes;
}

int64_t attention_gemm_block_rows(const vk::DeviceInfo& info, const AttentionArgs& args,
                                  const ReducePolicy& policy) {
  if (!args.scores || policy.attention_gemm_min_rows == 0 || !info.enabled.texel_buffers ||
      args.rows_per_seq < std::max<int64_t>(policy.attention_gemm_min_rows, 1))
    return 0;
  // Every read goes through vec4 texel views.
  const KvLayout& kv = args.kv;
  if (args.head_dim % 4 || !vec4_texel_readable(info, args.q) || kv.k_offset % 4 || kv.v_offset % 4 ||
      kv.seq_stride % 4 || kv.head_stride % 4 || kv.pos_stride % 4)
    return 0;
  for (const vk::Buffer* buffer : {kv.k, kv.v, args.scores})
    if (buffer->size() > info.max_vec4_texel_view_bytes()) return 0;
  const uint64_t row_bytes = scores_row_bytes(args.batch, args.num_heads, max_keys(args));
  const int64_t rows = std::min<int64_t>(args.rows_per_seq, args.scores->size() / row_bytes);
  // Short blocks would pay three dispatches for little reuse of K and V.
  return rows >= std::min<int64_t>(args.rows_per_seq, policy.attention_gemm_min_rows) ? rows : 0;
}

void attention_gemm(vk::CommandStream& stream, const AttentionArgs& args, const ReducePolicy& policy,
                    int64_t block_rows) {
  vk::Device& device = stream.device();
  const vk::DeviceInfo& info = device.info();
  const uint32_t lanes = std::max<uint32_t>(policy.workgroup, 1);
  const uint32_t tile_m = policy.attention_tile_m;
  // P.V reads V in vec4s: its dims per lane are a multiple of 4.
  const uint32_t tile_d = std::max<uint32_t>(policy.attention_tile_n / 4 * 4, 4);
  const TileSpec score_spec{lanes, 1, policy.attention_tile_n, tile_m};
  const uint32_t dim_lanes = std::min<uint32_t>(lanes, ceil_div(args.head_dim, tile_d));
  const TileSpec mix_spec{dim_lanes, std::max<uint32_t>(lanes / dim_lanes, 1), tile_d, tile_m};

  auto kernel_for = [&](ShaderId shader, const TileSpec& spec) -> const vk::Kernel& {
    vk::KernelDesc desc;
    desc.shader = shader;
    desc.bindings = {vk::BindingKind::kTexel, vk::BindingKind::kTexel, vk::BindingKind::kStorage,
                     vk::BindingKind::kStorage, vk::BindingKind::kStorage};
    desc.written_bindings = 1u << 3;
    desc.push_constant_bytes = sizeof(params::AttentionGemmParams);
    desc.spec = vk::spec_values(spec);
    desc.local_size = {spec.local_n, spec.local_m, 1};
    return device.kernel(desc);
  };
  const vk::Kernel& scores_kernel = kernel_for(ShaderId::attention_scores, score_spec);
  const vk::Kernel& mix_kernel = kernel_for(ShaderId::attention_mix, mix_spec);

  const uint32_t sequences_heads = static_cast<uint32_t>(args.batch * args.num_heads);
  if (sequences_heads > info.max_workgroup_count[2])
    fail(ErrorCode::kInternal, "attention: {} sequences x heads exceed the device's workgroup "
         "count limit {}", sequences_heads, info.max_workgroup_count[2]);
  params::AttentionGemmParams p{};
  p.heads = static_cast<uint32_t>(args.num_heads);
  p.group = static_cast<uint32_t>(args.num_heads / args.num_kv_heads);
  p.rows_per_seq = static_cast<uint32_t>(args.rows_per_seq);
  p.past = static_cast<uint32_t>(args.past);
  p.causal = args.causal ? 1u : 0u;
  p.q_offset = args.q.offset;
  p.q_stride = args.q.stride;
  set_kv_addressing(p, args.kv);
  p.o_offset = args.out.offset;
  p.o_stride = args.out.stride;
  p.head_dim = static_cast<uint32_t>(args.head_dim);
  p.scale = args.scale;
  p.window = static_cast<uint32_t>(args.window);

  const vk::Buffer& scores = *args.scores;
  for (int64_t row0 = 0; row0 < args.rows_per_seq; row0 += block_rows) {
    const int64_t rows = std::min(block_rows, args.rows_per_seq - row0);
    // A causal block's rows see no key past its last row.
    const int64_t keys = args.causal ? args.past + row0 + rows : args.rows_per_seq;
    p.rows = static_cast<uint32_t>(rows);
    p.row0 = static_cast<uint32_t>(row0);
    p.keys = static_cast<uint32_t>(keys);
    p.s_offset = 0;
    p.s_stride = static_cast<uint32_t>(round_up4(keys));
    // Each GEMM reads the scores once and its rows and keys once per head.
    const double pairs = double(sequences_heads) * rows * keys;
    const vk::OpCost cost{4.0 * pairs + 4.0 * sequences_heads * (rows + keys) * args.head_dim,
                          2.0 * pairs * args.head_dim};
    const uint32_t row_groups = ceil_div(rows, int64_t(tile_m) * score_spec.local_m);

    // Unpaged, the bounds stand in for the page table (never read).
    const vk::Buffer& pages = args.kv.paged() ? *args.kv.page_table : *args.seq_bounds;
    std::array<vk::BufferRange, 5> bindings{*args.q.buffer, *args.kv.k, *args.seq_bounds, scores, pages};
    bindings[0].texel_format = bindings[1].texel_format = VK_FORMAT_R32G32B32A32_SFLOAT;
    p.kv_offset = args.kv.k_offset;
    stream.dispatch(scores_kernel, bindings, p, ceil_div(keys, int64_t(lanes) * score_spec.tile_n),
                    row_groups, sequences_heads, "attention_scores", cost);

    SoftmaxArgs softmax_args;
    softmax_args.x = softmax_args.y = View(scores, 0, p.s_stride);
    softmax_args.M = int64_t(sequences_heads) * rows;
    softmax_args.N = keys;
    softmax(stream, softmax_args, policy);

    bindings = {scores, *args.kv.v, *args.seq_bounds, *args.out.buffer, pages};
    bindings[0].texel_format = bindings[1].texel_format = VK_FORMAT_R32G32B32A32_SFLOAT;
    p.kv_offset = args.kv.v_offset;
    stream.dispatch(mix_kernel, bindings, p, ceil_div(args.head_dim, int64_t(mix_spec.local_n) * tile_d),
                    ceil_div(rows, int64_t(tile_m) * mix_spec.local_m), sequences_heads, "attention_mix",
                    cost);
  }
}

}  // namespace vkinfer::ops
