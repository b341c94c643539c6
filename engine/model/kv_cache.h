// The KV cache of one rank, paged: per layer, a pool of pages of
// kPagePositions positions ([page][kv_heads][position][head_dim] f32) and a
// page table that maps each sequence slot's positions to pages. A sequence
// borrows a slot (acquire/release) together with the pages for as many
// positions as it will hold, up to ctx, so memory follows what requests
// need rather than slots x ctx; the decoder reads and writes through the
// table at the positions its step batch names. Allocated once, at load;
// nothing on the request path allocates. Pages are never shared, so one
// sequence's keys cannot be seen by another.
//
// Pages are reserved whole at acquire rather than on demand as a sequence
// grows: a running sequence then never finds the pool empty, so nothing is
// preempted and recomputed, and a request's tokens never depend on what
// else runs (a recomputed prefix would round differently from the decode
// steps that first wrote it).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ops/attention.h"
#include "engine/vk/buffer.h"

namespace vkinfer {

namespace vk {
class CommandStream;
}

class KvCache {
 public:
  static constexpr uint32_t kPageShift = 4;
  static constexpr int64_t kPagePositions = int64_t(1) << kPageShift;

  // Up to `slots` sequences of up to `ctx` positions each, of `kv_heads`
  // heads (this rank's) of `head_dim` floats, per layer, sharing a pool of
  // `pool_positions` positions (rounded up to pages; 0: the pages of a whole
  // context for every slot, so that all can fill it at once). Throws kOutOfMemory (with
  // a HINT) when one layer's pool exceeds the device's maxStorageBufferRange.
  KvCache(vk::Device& device, int64_t layers, int64_t slots, int64_t kv_heads, int64_t ctx,
          int64_t head_dim, int64_t pool_positions = 0);

  // Pages of the pool, and the bytes it takes on one rank (memory planning
  // before allocating).
  static int64_t pool_pages(int64_t slots, int64_t ctx, int64_t pool_positions);
  static uint64_t bytes(int64_t layers, int64_t slots, int64_t kv_heads, int64_t ctx, int64_t head_dim,
                        int64_t pool_positions = 0);
  // Throws kInvalidArgument (with a HINT) when the pool cannot hold one
  // sequence of the whole context (memory plans check before allocating).
  static void check_pool(int64_t slots, int64_t ctx, int64_t pool_positions);
  // Pages that hold `positions` positions.
  static int64_t pages_for(int64_t positions) { return (positions + kPagePositions - 1) / kPagePositions; }

  // A free slot, empty (length 0), with pages for min(positions, ctx)
  // positions (-1: ctx); -1 when no slot is free or the pool lacks pages.
  int acquire(int64_t positions = -1);
  // Gives the slot and its pages back; their contents are dead (the next
  // owner overwrites every position before reading it, as lengths start at 0).
  void release(int slot);

  int64_t slots() const { return static_cast<int64_t>(lengths_.size()); }
  int64_t free_slots() const;
  int64_t pages() const { return static_cast<int64_t>(page_owner_.size()); }
  int64_t free_pages() const { return static_cast<int64_t>(free_pages_.size()); }
  int64_t ctx() const { return ctx_; }
  int64_t kv_heads() const { return kv_heads_; }
  int64_t head_dim() const { return head_dim_; }
  // Positions of `slot` written so far, and how many its pages hold.
  int64_t length(int slot) const { return lengths_.at(check(slot)); }
  int64_t capacity(int slot) const;
  // Positions written, over all held slots.
  int64_t used_positions() const;
  // Records that a recorded forward wrote `rows` more positions of `slot`.
  void advance(int slot, int64_t rows);
  // Forgets the slot's positions past `length` (a rewound sequence, e.g.
  // rejected speculative tokens); they are overwritten before being read.
  void truncate(int slot, int64_t length);

  // Records, on `stream`, copies of `src`'s cached positions (every layer's
  // keys and values) into `dst`, and gives `dst` src's length: a beam that
  // continues another beam's history (transformers' beam search reorders
  // its cache rows so). Both slots must be held and differ, and dst's pages
  // must hold src's length; `src` must not be written before the copies ran.
  void copy_slot(vk::CommandStream& stream, int src, int dst);

  // Layer `layer`'s K/V addressing for the attention kernels (paged). The
  // page table reaches the device through sync_page_table.
  ops::KvLayout layout(size_t layer) const;
  const vk::Buffer& k(size_t layer) const { return k_.at(layer); }
  const vk::Buffer& v(size_t layer) const { return v_.at(layer); }
  // The page that holds position `position` of `slot` (within its capacity).
  uint32_t page(int slot, int64_t position) const;
  // Uploads the page table if acquire or release changed it since the
  // last upload. Call between steps, with no step in flight.
  void sync_page_table();

 private:
  size_t check(int slot) const;

  vk::Device* device_ = nullptr;
  int64_t ctx_ = 0, kv_heads_ = 0, head_dim_ = 0, pages_per_seq_ = 0;
  std::vector<vk::Buffer> k_, v_;  // per layer [pages][kv_heads][kPagePositions][head_dim] f32
  std::vector<int64_t> lengths_;   // [slots] cached positions
  std::vector<bool> used_;         // [slots]
  std::vector<uint32_t> page_table_host_;  // [slots][pages_per_seq]: page of each run
  std::vector<int64_t> slot_pages_;        // [slots] pages held
  std::vector<int> page_owner_;            // [pages] slot, or -1
  std::vector<uint32_t> free_pages_;       // a stack; lowest page on top
  vk::Buffer page_table_;
  bool page_table_dirty_ = true;
};

}  // namespace vkinfer
