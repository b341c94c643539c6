// KvCache: the per-layer page pools, the page table and the slots'
// bookkeeping (which are taken, which pages each holds, how many positions
// each has written).
#include "engine/model/kv_cache.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/vk/command_stream.h"
#include "engine/vk/device.h"

namespace vkinfer {

int64_t KvCache::pool_pages(int64_t slots, int64_t ctx, int64_t pool_positions) {
  return pool_positions > 0 ? pages_for(pool_positions) : slots * pages_for(ctx);
}

uint64_t KvCache::bytes(int64_t layers, int64_t slots, int64_t kv_heads, int64_t ctx, int64_t head_dim,
                        int64_t pool_positions) {
  return 2ull * layers * pool_pages(slots, ctx, pool_positions) * kv_heads * kPagePositions * head_dim * 4;
}

void KvCache::check_pool(int64_t slots, int64_t ctx, int64_t pool_positions) {
  const int64_t pages = pool_pages(slots, ctx, pool_positions);
  if (pages < pages_for(ctx))
    fail(ErrorCode::kInvalidArgument,
         "a KV cache of {} positions cannot hold one sequence of the context ({}). HINT: raise "
         "--kv-tokens to at least {}, or lower --ctx",
         pages * kPagePositions, ctx, pages_for(ctx) * kPagePositions);
}

KvCache::KvCache(vk::Device& device, int64_t layers, int64_t slots, int64_t kv_heads, int64_t ctx,
                 int64_t head_dim, int64_t pool_positions)
    : device_(&device),
      ctx_(ctx),
      kv_heads_(kv_heads),
      head_dim_(head_dim),
      pages_per_seq_(pages_for(ctx)),
      lengths_(slots, 0),
      used_(slots, false),
      slot_pages_(slots, 0) {
  if (slots < 1 || ctx < 1 || pool_positions < 0)
    fail(ErrorCode::kInternal, "KV cache of {} slots x {} positions ({} pooled)", slots, ctx, pool_positions);
  check_pool(slots, ctx, pool_positions);
  const int64_t pages = pool_pages(slots, ctx, pool_positions);
  const uint64_t page_bytes = uint64_t(kv_heads) * kPagePositions * head_dim * 4;
  const uint64_t layer_bytes = uint64_t(pages) * page_bytes;
  const uint64_t range = device.info().max_storage_buffer_range;
  if (layer_bytes > range)
    fail(ErrorCode::kOutOfMemory,
         "one layer's KV cache ({:.1f} MiB for {} positions: batch {} x ctx {}, or --kv-tokens) exceeds "
         "the device's maxStorageBufferRange ({:.1f} MiB). HINT: lower --kv-tokens, --ctx or --batch, or "
         "use more --tp ranks (at most {} positions fit)",
         layer_bytes / 1048576.0, pages * kPagePositions, slots, ctx, range / 1048576.0,
         range / page_bytes * kPagePositions);
  for (int64_t i = 0; i < layers; ++i) {
    k_.push_back(vk::Buffer::create(device, layer_bytes, vk::MemoryKind::kDevice));
    v_.push_back(vk::Buffer::create(device, layer_bytes, vk::MemoryKind::kDevice));
  }
  page_owner_.assign(pages, -1);
  free_pages_.reserve(pages);
  for (int64_t page = pages - 1; page >= 0; --page) free_pages_.push_back(static_cast<uint32_t>(page));
  page_table_host_.assign(slots * pages_per_seq_, 0);
  page_table_ = vk::Buffer::create(device, page_table_host_.size() * 4, vk::MemoryKind::kDevice);
  sync_page_table();
}

size_t KvCache::check(int slot) const {
  if (slot < 0 || slot >= slots() || !used_[slot])
    fail(ErrorCode::kInternal, "KV cache slot {} is not held (of {})", slot, slots());
  return static_cast<size_t>(slot);
}

int KvCache::acquire(int64_t positions) {
  const int64_t wanted = pages_for(positions < 0 ? ctx_ : std::clamp<int64_t>(positions, 1, ctx_));
  if (wanted > free_pages()) return -1;
  for (size_t i = 0; i < used_.size(); ++i) {
    if (used_[i]) continue;
    used_[i] = true;
    lengths_[i] = 0;
    slot_pages_[i] = wanted;
    for (int64_t run = 0; run < wanted; ++run) {
      const uint32_t page = free_pages_.back();
      free_pages_.pop_back();
      page_owner_[page] = static_cast<int>(i);
      page_table_host_[i * pages_per_seq_ + run] = page;
    }
    page_table_dirty_ = true;
    return static_cast<int>(i);
  }
  return -1;
}

void KvCache::release(int slot) {
  const size_t i = check(slot);
  // Given back in reverse, so the stack hands out the same pages in the same
  // order next time (a sequence's pages stay ascending when the pool is fresh).
  for (int64_t run = slot_pages_[i] - 1; run >= 0; --run) {
    const uint32_t page = page_table_host_[i * pages_per_seq_ + run];
    page_owner_[page] = -1;
    free_pages_.push_back(page);
  }
  used_[i] = false;
  lengths_[i] = 0;
  slot_pages_[i] = 0;
  // The table's stale row is never read: no row of a step names a free slot.
}

int64_t KvCache::free_slots() const { return std::count(used_.begin(), used_.end(), false); }

int64_t KvCache::capacity(int slot) const {
  return std::min(slot_pages_[check(slot)] * kPagePositions, ctx_);
}

int64_t KvCache::used_positions() const {
  int64_t total = 0;
  for (size_t i = 0; i < used_.size(); ++i)
    if (used_[i]) total += lengths_[i];
  return total;
}

uint32_t KvCache::page(int slot, int64_t position) const {
  if (position < 0 || position >= capacity(slot))
    fail(ErrorCode::kInternal, "KV cache slot {}: position {} outside its {} positions", slot, position,
         capacity(slot));
  return page_table_host_[slot * pages_per_seq_ + (position >> kPageShift)];
}

void KvCache::advance(int slot, int64_t rows) {
  const size_t i = check(slot);
  if (rows < 0 || lengths_[i] + rows > ctx_)
    fail(ErrorCode::kInvalidArgument, "{} positions exceed the context of {}. HINT: raise --ctx",
         lengths_[i] + rows, ctx_);
  if (lengths_[i] + rows > capacity(slot))
    fail(ErrorCode::kInternal, "KV cache slot {}: {} positions exceed the {} it reserved", slot,
         lengths_[i] + rows, capacity(slot));
  lengths_[i] += rows;
}

void KvCache::truncate(int slot, int64_t length) {
  const size_t i = check(slot);
  if (length < 0 || length > lengths_[i])
    fail(ErrorCode::kInternal, "KV cache slot {}: truncate to {} of {}", slot, length, lengths_[i]);
  lengths_[i] = length;
}

void KvCache::copy_slot(vk::CommandStream& stream, int src, int dst) {
  const size_t from = check(src), to = check(dst);
  if (from == to) fail(ErrorCode::kInternal, "KV cache slot {} copied onto itself", src);
  const int64_t length = lengths_[from];
  if (length > capacity(dst))
    fail(ErrorCode::kInternal, "KV cache slot {} ({} positions) does not fit slot {} ({})", src, length,
         dst, capacity(dst));
  // Per page and head, only the positions written so far.
  const uint64_t position_bytes = static_cast<uint64_t>(head_dim_) * 4;
  const uint64_t head_bytes = kPagePositions * position_bytes;
  for (int64_t first = 0; first < length; first += kPagePositions) {
    const uint64_t bytes = std::min(kPagePositions, length - first) * position_bytes;
    const uint64_t src_page = page(src, first), dst_page = page(dst, first);
    for (size_t layer = 0; layer < k_.size(); ++layer)
      for (const vk::Buffer* buffer : {&k_[layer], &v_[layer]})
        for (int64_t head = 0; head < kv_heads_; ++head)
          stream.copy(*buffer, (src_page * kv_heads_ + head) * head_bytes, *buffer,
                      (dst_page * kv_heads_ + head) * head_bytes, bytes);
  }
  lengths_[to] = length;
}

ops::KvLayout KvCache::layout(size_t layer) const {
  ops::KvLayout layout;
  layout.k = &k_.at(layer);
  layout.v = &v_.at(layer);
  layout.pos_stride = static_cast<uint32_t>(head_dim_);
  layout.head_stride = static_cast<uint32_t>(kPagePositions * head_dim_);
  layout.seq_stride = static_cast<uint32_t>(kv_heads_ * kPagePositions * head_dim_);
  layout.page_table = &page_table_;
  layout.page_shift = kPageShift;
  layout.pages_per_seq = static_cast<uint32_t>(pages_per_seq_);
  return layout;
}

void KvCache::sync_page_table() {
  if (!page_table_dirty_) return;
  device_->upload(page_table_, 0, page_table_host_.data(), page_table_host_.size() * 4);
  page_table_dirty_ = false;
}

}  // namespace vkinfer
