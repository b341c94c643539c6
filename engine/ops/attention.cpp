#include "engine/ops/attention.h"

#include <algorithm>
#include <array>

#include "engine/core/error.h"
#include "engine/ops/attention_gemm.h"
#include "engine/vk/device.h"
#include "shaders/params/attention.h"

namespace vkinfer::ops {

static_assert(kAttentionRowWords == ATTENTION_ROW_WORDS &&
              offsetof(AttentionRow, key_begin) == 4 * ATTENTION_ROW_KEY_BEGIN &&
              offsetof(AttentionRow, key_end) == 4 * ATTENTION_ROW_KEY_END &&
              offsetof(AttentionRow, slot) == 4 * ATTENTION_ROW_SLOT &&
              offsetof(AttentionRow, fresh_begin) == 4 * ATTENTION_ROW_FRESH_BEGIN &&
              offsetof(AttentionRow, position) == 4 * ATTENTION_ROW_POSITION &&
              offsetof(AttentionRow, log2_theta_hi) == 4 * ATTENTION_ROW_LOG2_THETA,
              "AttentionRow must match the kernels' row table");

namespace {

struct AttentionSpec {
  uint32_t workgroup, head_dim;
  VkBool32 fresh;
};

// Checks that `args.kv` is a cache layout (cache_layout() or a KvCache's
// paged one) with room for the fresh rows.
void check_fresh_cache(const AttentionArgs& args) {
  const KvLayout& kv = args.kv;
  const int64_t run = kv.positions_per_run();
  if (!args.causal || kv.k_offset != 0 || kv.v_offset != 0 || kv.pos_stride != args.head_dim ||
      kv.head_stride != run * args.head_dim || kv.seq_stride != args.num_kv_heads * kv.head_stride ||
      (kv.paged() && (run % 4 != 0 || kv.pages_per_seq == 0)) ||
      (!args.row_table && !kv.paged() && args.past + args.rows_per_seq > run))
    fail(ErrorCode::kInternal, "attention: fresh keys need causal attention over a cache layout "
                               "with room for them");
}

// kv_store of `args.fresh` into the cache `args.kv`.
void store_fresh(vk::CommandStream& stream, const AttentionArgs& args) {
  KvStoreArgs store;
  store.k_src = args.fresh;
  store.v_delta = args.fresh_v_delta;
  store.cache = args.kv;
  store.batch = args.batch;
  store.rows_per_seq = args.rows_per_seq;
  store.num_kv_heads = args.num_kv_heads;
  store.head_dim = args.head_dim;
  store.past = args.past;
  store.row_table = args.row_table;
  kv_store(stream, store);
}

}  // namespace

void attention(vk::CommandStream& stream, const AttentionArgs& args, const ReducePolicy& policy) {
  vk::Device& device = stream.device();
  if (args.num_heads % args.num_kv_heads != 0)
    fail(ErrorCode::kInternal, "attention: {} heads not a multiple of {} kv heads", args.num_heads,
         args.num_kv_heads);
  const bool fresh = static_cast<bool>(args.fresh);
  if (fresh) check_fresh_cache(args);
  if (args.kv.paged() && (args.kv.page_shift == 0 || args.kv.page_shift > 16))
    fail(ErrorCode::kInternal, "attention: pages of 2^{} positions", args.kv.page_shift);
  const bool packed = args.row_table != nullptr;
  if (packed && (!fresh || args.batch != 1))
    fail(ErrorCode::kInternal, "attention: a row table needs fresh keys and batch 1");
  // The fused kernel takes a window's first key from the row table only.
  if (args.window > 0 && (!packed || !args.causal))
    fail(ErrorCode::kInternal, "attention: a sliding window needs a causal row table");
  if (!packed || args.single_slot >= 0) {
    // The GEMM path reads uniform [B][T] rows. A packed step of one
    // sequence is that with B = 1, its cache slot as the first sequence, and
    // the row table's first words as its bounds.
    AttentionArgs gemm = args;
    if (packed) {
      gemm.kv.first_seq += static_cast<uint32_t>(args.single_slot);
      gemm.past = args.single_past;
      gemm.seq_bounds = args.row_table;
      gemm.row_table = nullptr;
    }
    if (const int64_t block_rows = attention_gemm_block_rows(device.info(), gemm, policy)) {
      if (fresh) store_fresh(stream, args);
      attention_gemm(stream, gemm, policy, block_rows);
      return;
    }
  }
  const bool subgroup = policy.subgroup && device.info().enabled.subgroup_arithmetic;
  // Texel views need vec4-aligned rows and must fit the device's texel limit.
  const uint64_t texel_limit_bytes = device.info().max_vec4_texel_view_bytes();
  const bool texel = policy.texel_kv && device.info().enabled.texel_buffers &&
                     args.head_dim % 4 == 0 && args.kv.k_offset % 4 == 0 &&
                     args.kv.v_offset % 4 == 0 && args.kv.seq_stride % 4 == 0 &&
                     args.kv.head_stride % 4 == 0 && args.kv.pos_stride % 4 == 0 &&
                     args.kv.k->size() <= texel_limit_bytes && args.kv.v->size() <= texel_limit_bytes &&
                     vec4_texel_readable(device.info(), args.fresh) && args.fresh_v_delta % 4 == 0;
  vk::KernelDesc desc;
  if (texel)
    desc.shader = subgroup ? ShaderId::attention_subgroup_texel : ShaderId::attention_shared_texel;
  else
    desc.shader = subgroup ? ShaderId::attention_subgroup : ShaderId::attention_shared;
  // 0 Q, 1-2 K/V cache, 3 bounds, 4 out, 5 fresh rows, 6 page table;
  // texel views of K, V and the fresh rows at 7-9.
  desc.bindings.assign(7, vk::BindingKind::kStorage);
  if (texel) desc.bindings.insert(desc.bindings.end(), 3, vk::BindingKind::kTexel);
  desc.written_bindings = 1u << 4;
  if (fresh) desc.written_bindings |= (1u << 1) | (1u << 2);
  desc.push_constant_bytes = sizeof(params::AttentionParams);
  // Shared-memory merging keeps WORKGROUP x (head_dim + 2) floats; stay small.
  const uint32_t workgroup = subgroup ? device.info().subgroup_size : std::min<uint32_t>(policy.workgroup, 16);
  AttentionSpec spec{workgroup, static_cast<uint32_t>(args.head_dim), fresh ? VK_TRUE : VK_FALSE};
  desc.spec = vk::spec_values(spec);
  desc.local_size = {workgroup, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);

  params::AttentionParams p{};
  p.group = static_cast<uint32_t>(args.num_heads / args.num_kv_heads);
  p.rows_per_seq = static_cast<uint32_t>(args.rows_per_seq);
  p.q_offset = args.q.offset;
  p.q_stride = args.q.stride;
  p.o_offset = args.out.offset;
  p.o_stride = args.out.stride;
  p.k_offset = args.kv.k_offset;
  p.v_offset = args.kv.v_offset;
  set_kv_addressing(p, args.kv);
  p.past = static_cast<uint32_t>(args.past);
  p.causal = args.causal ? 1u : 0u;
  p.scale = args.scale;
  p.fresh_offset = args.fresh.offset;
  p.fresh_stride = args.fresh.stride;
  p.fresh_v_delta = args.fresh_v_delta;
  p.packed = packed ? 1u : 0u;
  const double keys = double(args.past + args.rows_per_seq);
  vk::OpCost cost{4.0 * args.batch * args.num_kv_heads * keys * args.head_dim * 2,
                  4.0 * args.batch * args.rows_per_seq * args.num_heads * keys * args.head_dim};
  // Without fresh rows, the K cache stands in for them (never read).
  const vk::Buffer& fresh_rows = fresh ? *args.fresh.buffer : *args.kv.k;
  // Unpaged, the bounds stand in for the page table (never read).
  const vk::Buffer& bounds = packed ? *args.row_table : *args.seq_bounds;
  std::array<vk::BufferRange, 10> bindings{*args.q.buffer,   *args.kv.k, *args.kv.v, bounds,
                                           *args.out.buffer, fresh_rows,
                                           args.kv.paged() ? *args.kv.page_table : bounds,
                                           *args.kv.k,       *args.kv.v, fresh_rows};
  bindings[7].texel_format = bindings[8].texel_format = bindings[9].texel_format =
      VK_FORMAT_R32G32B32A32_SFLOAT;
  stream.dispatch(kernel, std::span<const vk::BufferRange>(bindings.data(), texel ? 10 : 7), p, static_cast<uint32_t>(args.num_heads),
                  static_cast<uint32_t>(args.batch * args.rows_per_seq), 1, "attention", cost);
}

int attention_row_class(int64_t rows_per_seq, const ReducePolicy& policy) {
  return policy.attention_gemm_min_rows > 0 &&
         rows_per_seq >= std::max<int64_t>(policy.attention_gemm_min_rows, 1);
}

void kv_store(vk::CommandStream& stream, const KvStoreArgs& args) {
  vk::Device& device = stream.device();
  vk::KernelDesc desc;
  desc.shader = ShaderId::kv_store;
  // 0 source rows, 1-2 K/V cache, 3 row table, 4 page table (the source
  // stands in for either when there is none; never read then).
  desc.bindings.assign(5, vk::BindingKind::kStorage);
  desc.written_bindings = (1u << 1) | (1u << 2);
  desc.push_constant_bytes = sizeof(params::KvStoreParams);
  desc.local_size = {64, 1, 1};
  const vk::Kernel& kernel = device.kernel(desc);
  params::KvStoreParams p{};
  p.rows = static_cast<uint32_t>(args.batch * args.rows_per_seq);
  p.rows_per_seq = static_cast<uint32_t>(args.rows_per_seq);
  p.kv_heads = static_cast<uint32_t>(args.num_kv_heads);
  p.head_dim = static_cast<uint32_t>(args.head_dim);
  p.src_offset = args.k_src.offset;
  p.src_stride = args.k_src.stride;
  p.v_src_delta = args.v_delta;
  const KvLayout& cache = args.cache;
  if (cache.k_offset != 0 || cache.v_offset != 0 || cache.pos_stride != args.head_dim)
    fail(ErrorCode::kInternal, "kv_store: the cache must be a cache layout");
  set_kv_addressing(p, cache);
  p.past = static_cast<uint32_t>(args.past);
  p.packed = args.row_table ? 1u : 0u;
  const uint64_t total = uint64_t(p.rows) * p.kv_heads * p.head_dim;
  const uint64_t groups = (total + 63) / 64;
  const uint32_t groups_x = static_cast<uint32_t>(std::min<uint64_t>(groups, 65535));
  const uint32_t groups_y = static_cast<uint32_t>((groups + groups_x - 1) / groups_x);
  stream.dispatch(kernel, {*args.k_src.buffer, *cache.k, *cache.v,
                           args.row_table ? *args.row_table : *args.k_src.buffer,
                           cache.paged() ? *cache.page_table : *args.k_src.buffer},
                  p, groups_x, groups_y,
                  1, "kv_store", {8.0 * total * 2, 0});
}

KvLayout cache_layout(const vk::Buffer& k_cache, const vk::Buffer& v_cache, int64_t num_kv_heads,
                      int64_t ctx, int64_t head_dim) {
  KvLayout layout;
  layout.k = &k_cache;
  layout.v = &v_cache;
  layout.pos_stride = static_cast<uint32_t>(head_dim);
  layout.head_stride = static_cast<uint32_t>(ctx * head_dim);
  layout.seq_stride = static_cast<uint32_t>(num_kv_heads * ctx * head_dim);
  return layout;
}

}  // namespace vkinfer::ops
