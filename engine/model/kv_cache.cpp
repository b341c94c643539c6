// KvCache: per-layer buffers [slots][kv_heads][ctx][head_dim] and the slots'
// bookkeeping (which are taken, how many positions each holds).
#include "engine/model/kv_cache.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/vk/command_stream.h"
#include "engine/vk/device.h"

namespace vkinfer {

uint64_t KvCache::bytes(int64_t layers, int64_t slots, int64_t kv_heads, int64_t ctx, int64_t head_dim) {
  return 2ull * layers * slots * kv_heads * ctx * head_dim * 4;
}

KvCache::KvCache(vk::Device& device, int64_t layers, int64_t slots, int64_t kv_heads, int64_t ctx,
                 int64_t head_dim)
    : ctx_(ctx), kv_heads_(kv_heads), head_dim_(head_dim), lengths_(slots, 0), used_(slots, false) {
  if (slots < 1 || ctx < 1) fail(ErrorCode::kInternal, "KV cache of {} slots x {} positions", slots, ctx);
  const uint64_t layer_bytes = uint64_t(slots) * kv_heads * ctx * head_dim * 4;
  if (layer_bytes > device.info().max_storage_buffer_range)
    fail(ErrorCode::kOutOfMemory,
         "one layer's KV cache ({:.1f} MiB for batch {} x ctx {}) exceeds the device's "
         "maxStorageBufferRange ({:.1f} MiB). HINT: lower --ctx or --batch, or use more --tp ranks",
         layer_bytes / 1048576.0, slots, ctx, device.info().max_storage_buffer_range / 1048576.0);
  for (int64_t i = 0; i < layers; ++i) {
    k_.push_back(vk::Buffer::create(device, layer_bytes, vk::MemoryKind::kDevice));
    v_.push_back(vk::Buffer::create(device, layer_bytes, vk::MemoryKind::kDevice));
  }
}

size_t KvCache::check(int slot) const {
  if (slot < 0 || slot >= slots() || !used_[slot])
    fail(ErrorCode::kInternal, "KV cache slot {} is not held (of {})", slot, slots());
  return static_cast<size_t>(slot);
}

int KvCache::acquire() {
  for (size_t i = 0; i < used_.size(); ++i)
    if (!used_[i]) {
      used_[i] = true;
      lengths_[i] = 0;
      return static_cast<int>(i);
    }
  return -1;
}

void KvCache::release(int slot) {
  used_[check(slot)] = false;
  lengths_[slot] = 0;
}

int64_t KvCache::free_slots() const { return std::count(used_.begin(), used_.end(), false); }

void KvCache::advance(int slot, int64_t rows) {
  const size_t i = check(slot);
  if (rows < 0 || lengths_[i] + rows > ctx_)
    fail(ErrorCode::kInvalidArgument, "{} positions exceed the context of {}. HINT: raise --ctx",
         lengths_[i] + rows, ctx_);
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
  // Per head, only the positions written so far: [slot][head] blocks of ctx
  // positions, of which the first length(src) hold anything.
  const uint64_t position_bytes = static_cast<uint64_t>(head_dim_) * 4;
  const uint64_t head_bytes = static_cast<uint64_t>(ctx_) * position_bytes;
  const uint64_t bytes = static_cast<uint64_t>(lengths_[from]) * position_bytes;
  for (size_t layer = 0; layer < k_.size(); ++layer)
    for (const vk::Buffer* buffer : {&k_[layer], &v_[layer]})
      for (int64_t head = 0; head < kv_heads_; ++head)
        stream.copy(*buffer, (from * kv_heads_ + head) * head_bytes, *buffer,
                    (to * kv_heads_ + head) * head_bytes, bytes);
  lengths_[to] = lengths_[from];
}

}  // namespace vkinfer
