// KvCache::copy_slot, which the Python adapter's beam search uses to let a
// beam continue another beam's history: every layer's keys and values of
// the source slot's written positions land in the destination slot, the
// destination takes the source's length, and nothing else changes (the
// positions past the length, other slots). Each (layer, K/V, slot, head)
// block is filled with its own word first, so a misplaced copy shows.
#include <gtest/gtest.h>

#include <cstring>

#include "engine/core/error.h"
#include "engine/model/kv_cache.h"
#include "engine/vk/command_stream.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

constexpr int64_t kLayers = 2, kSlots = 3, kHeads = 2, kCtx = 7, kDim = 5;  // odd sizes on purpose

uint32_t word(size_t layer, int kv, int64_t slot, int64_t head) {
  return static_cast<uint32_t>(1 + layer * 1000 + kv * 100 + slot * 10 + head);
}

std::vector<uint32_t> download(vk::Device& device, const vk::Buffer& buffer) {
  std::vector<uint32_t> out(kSlots * kHeads * kCtx * kDim);
  device.download(buffer, 0, out.data(), out.size() * 4);
  return out;
}

TEST(KvCacheCopy, CopiesWrittenPositionsOfEveryLayerAndHead) {
  vk::Device& device = test_device();
  KvCache cache(device, kLayers, kSlots, kHeads, kCtx, kDim);
  for (int64_t s = 0; s < kSlots; ++s) ASSERT_EQ(cache.acquire(), s);
  const uint64_t head_bytes = kCtx * kDim * 4;
  vk::CommandStream stream(device);
  for (size_t layer = 0; layer < kLayers; ++layer)
    for (int kv = 0; kv < 2; ++kv)
      for (int64_t s = 0; s < kSlots; ++s)
        for (int64_t h = 0; h < kHeads; ++h)
          stream.fill(kv ? cache.v(layer) : cache.k(layer), (s * kHeads + h) * head_bytes, head_bytes,
                      word(layer, kv, s, h));
  stream.finish();
  cache.advance(0, 4);
  cache.advance(2, 6);

  cache.copy_slot(stream, 0, 2);
  stream.finish();
  EXPECT_EQ(cache.length(2), 4);
  EXPECT_EQ(cache.length(0), 4);

  for (size_t layer = 0; layer < kLayers; ++layer)
    for (int kv = 0; kv < 2; ++kv) {
      const std::vector<uint32_t> got = download(device, kv ? cache.v(layer) : cache.k(layer));
      for (int64_t s = 0; s < kSlots; ++s)
        for (int64_t h = 0; h < kHeads; ++h)
          for (int64_t p = 0; p < kCtx; ++p)
            for (int64_t d = 0; d < kDim; ++d) {
              // Slot 2's first 4 positions now hold slot 0's; the rest keep their own.
              const int64_t from = (s == 2 && p < 4) ? 0 : s;
              ASSERT_EQ(got[((s * kHeads + h) * kCtx + p) * kDim + d], word(layer, kv, from, h))
                  << "layer " << layer << (kv ? " V" : " K") << " slot " << s << " head " << h << " position " << p;
            }
    }
}

TEST(KvCacheCopy, RefusesAnUnheldSlotOrItself) {
  KvCache cache(test_device(), 1, 2, 1, 3, 4);
  const int slot = cache.acquire();
  vk::CommandStream stream(test_device());
  EXPECT_THROW(cache.copy_slot(stream, slot, slot), Error);
  EXPECT_THROW(cache.copy_slot(stream, slot, 1), Error);  // slot 1 is not held
}

}  // namespace
}  // namespace vkinfer
