// The KV cache of one rank: per layer, keys and values of every sequence
// slot, and each slot's cached length. Sequences borrow a slot for their
// lifetime (acquire/release); the decoder reads and writes a slot at the
// positions its step batch names. Allocated once, at load; nothing on the
// request path allocates. Rows of different sequences never share a slot,
// so one sequence's keys cannot be seen by another.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/vk/buffer.h"

namespace vkinfer {

namespace vk {
class CommandStream;
}

class KvCache {
 public:
  // slots x ctx positions of `kv_heads` heads (this rank's) of `head_dim`
  // floats, per layer. Throws kOutOfMemory (with a HINT) when one layer's
  // buffer exceeds the device's maxStorageBufferRange.
  KvCache(vk::Device& device, int64_t layers, int64_t slots, int64_t kv_heads, int64_t ctx,
          int64_t head_dim);

  // Bytes the cache takes on one rank (memory planning before allocating).
  static uint64_t bytes(int64_t layers, int64_t slots, int64_t kv_heads, int64_t ctx, int64_t head_dim);

  // A free slot, empty (length 0); -1 when all are taken.
  int acquire();
  // Gives the slot back; its contents are dead (the next owner overwrites
  // every position before reading it, as lengths start at 0).
  void release(int slot);

  int64_t slots() const { return static_cast<int64_t>(lengths_.size()); }
  int64_t free_slots() const;
  int64_t ctx() const { return ctx_; }
  int64_t kv_heads() const { return kv_heads_; }
  int64_t head_dim() const { return head_dim_; }
  // Positions of `slot` written so far.
  int64_t length(int slot) const { return lengths_.at(check(slot)); }
  // Records that a recorded forward wrote `rows` more positions of `slot`.
  void advance(int slot, int64_t rows);
  // Forgets the slot's positions past `length` (a rewound sequence, e.g.
  // rejected speculative tokens); they are overwritten before being read.
  void truncate(int slot, int64_t length);

  // Records, on `stream`, copies of `src`'s cached positions (every layer's
  // keys and values) into `dst`, and gives `dst` src's length: a beam that
  // continues another beam's history (transformers' beam search reorders
  // its cache rows so). Both slots must be held and differ; `src` must not
  // be written before the copies ran.
  void copy_slot(vk::CommandStream& stream, int src, int dst);

  const vk::Buffer& k(size_t layer) const { return k_.at(layer); }
  const vk::Buffer& v(size_t layer) const { return v_.at(layer); }

 private:
  size_t check(int slot) const;

  int64_t ctx_ = 0, kv_heads_ = 0, head_dim_ = 0;
  std::vector<vk::Buffer> k_, v_;  // per layer [slots][kv_heads][ctx][head_dim] f32
  std::vector<int64_t> lengths_;   // [slots] cached positions
  std::vector<bool> used_;         // [slots]
};

}  // namespace vkinfer
