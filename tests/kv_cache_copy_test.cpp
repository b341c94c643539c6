// KvCache: its pages and copy_slot. copy_slot lets the Python adapter's
// beam search have a beam continue another beam's history: every layer's
// keys and values of the source slot's written positions land in the
// destination slot, the destination takes the source's length, and nothing
// else changes (the positions past the length, other slots). Each (layer,
// K/V, slot, head) is filled with its own word first, through the page
// table, so a misplaced copy shows. The page pool: slots reserve pages for
// the positions they will hold, never share one, and give them back.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "engine/core/error.h"
#include "engine/model/kv_cache.h"
#include "engine/vk/command_stream.h"
#include "tests/support/gpu.h"

namespace vkinfer {
namespace {

using testing::test_device;

// Odd sizes on purpose; a context of 37 spans three pages, the last one partial.
constexpr int64_t kLayers = 2, kSlots = 3, kHeads = 2, kCtx = 37, kDim = 5;
constexpr int64_t kPage = KvCache::kPagePositions;

uint32_t word(size_t layer, int kv, int64_t slot, int64_t head) {
  return static_cast<uint32_t>(1 + layer * 1000 + kv * 100 + slot * 10 + head);
}

// The element of (page, head, position within the page, dim).
uint64_t element(uint64_t page, int64_t head, int64_t within, int64_t d) {
  return ((page * kHeads + head) * kPage + within) * kDim + d;
}

TEST(KvCacheCopy, CopiesWrittenPositionsOfEveryLayerAndHead) {
  vk::Device& device = test_device();
  KvCache cache(device, kLayers, kSlots, kHeads, kCtx, kDim);
  for (int64_t s = 0; s < kSlots; ++s) ASSERT_EQ(cache.acquire(), s);
  vk::CommandStream stream(device);
  for (size_t layer = 0; layer < kLayers; ++layer)
    for (int kv = 0; kv < 2; ++kv)
      for (int64_t s = 0; s < kSlots; ++s)
        for (int64_t first = 0; first < kCtx; first += kPage)
          for (int64_t h = 0; h < kHeads; ++h)
            stream.fill(kv ? cache.v(layer) : cache.k(layer), element(cache.page(s, first), h, 0, 0) * 4,
                        kPage * kDim * 4, word(layer, kv, s, h));
  stream.finish();
  // 20 positions: a whole page and part of the next.
  cache.advance(0, 20);
  cache.advance(2, 30);

  cache.copy_slot(stream, 0, 2);
  stream.finish();
  EXPECT_EQ(cache.length(2), 20);
  EXPECT_EQ(cache.length(0), 20);

  for (size_t layer = 0; layer < kLayers; ++layer)
    for (int kv = 0; kv < 2; ++kv) {
      const vk::Buffer& buffer = kv ? cache.v(layer) : cache.k(layer);
      std::vector<uint32_t> got(buffer.size() / 4);
      device.download(buffer, 0, got.data(), buffer.size());
      for (int64_t s = 0; s < kSlots; ++s)
        for (int64_t h = 0; h < kHeads; ++h)
          for (int64_t p = 0; p < kCtx; ++p)
            for (int64_t d = 0; d < kDim; ++d) {
              // Slot 2's first 20 positions now hold slot 0's; the rest keep their own.
              const int64_t from = (s == 2 && p < 20) ? 0 : s;
              ASSERT_EQ(got[element(cache.page(s, p), h, p % kPage, d)], word(layer, kv, from, h))
                  << "layer " << layer << (kv ? " V" : " K") << " slot " << s << " head " << h << " position " << p;
            }
    }
}

TEST(KvCacheCopy, RefusesAnUnheldSlotItselfOrTooFewPages) {
  KvCache cache(test_device(), 1, 3, 1, 40, 4);
  const int slot = cache.acquire();
  vk::CommandStream stream(test_device());
  EXPECT_THROW(cache.copy_slot(stream, slot, slot), Error);
  EXPECT_THROW(cache.copy_slot(stream, slot, 1), Error);  // slot 1 is not held
  const int small = cache.acquire(kPage);
  cache.advance(slot, kPage + 1);
  EXPECT_THROW(cache.copy_slot(stream, slot, small), Error);  // 17 positions into one page
}

TEST(KvCachePages, SlotsReserveDistinctPagesAndGiveThemBack) {
  // A pool of 5 pages (80 positions) for 4 slots of up to 40 positions (3 pages).
  KvCache cache(test_device(), 1, 4, 1, 40, 4, 5 * kPage);
  EXPECT_EQ(cache.pages(), 5);
  const int a = cache.acquire(20);  // 2 pages
  const int b = cache.acquire(1);   // 1 page
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(cache.capacity(a), 32);
  EXPECT_EQ(cache.capacity(b), kPage);
  EXPECT_EQ(cache.free_pages(), 2);
  EXPECT_EQ(cache.acquire(), -1) << "a whole context (3 pages) does not fit 2 free pages";
  const int c = cache.acquire(30);
  ASSERT_GE(c, 0);
  EXPECT_EQ(cache.free_pages(), 0);
  EXPECT_EQ(cache.acquire(1), -1) << "no page left, though a slot is";
  std::set<uint32_t> seen;
  for (auto [slot, capacity] : {std::pair{a, 32}, std::pair{b, 16}, std::pair{c, 32}})
    for (int64_t p = 0; p < capacity; p += kPage) EXPECT_TRUE(seen.insert(cache.page(slot, p)).second);
  // Writing past the reservation is refused before anything is written.
  cache.advance(b, kPage);
  EXPECT_THROW(cache.advance(b, 1), Error);
  EXPECT_EQ(cache.used_positions(), kPage);
  cache.release(a);
  EXPECT_EQ(cache.free_pages(), 2);
  EXPECT_EQ(cache.acquire(), -1) << "3 pages wanted, 2 free";
  EXPECT_GE(cache.acquire(32), 0);
}

TEST(KvCachePages, CapacityIsCappedByTheContextAndTheClaimAtLeastAPage) {
  KvCache cache(test_device(), 1, 2, 1, 20, 4);  // pool: a whole context (2 pages) per slot
  EXPECT_EQ(cache.pages(), 4);
  const int whole = cache.acquire();
  EXPECT_EQ(cache.capacity(whole), 20);  // two pages, cut at the context
  const int tiny = cache.acquire(0);
  EXPECT_EQ(cache.capacity(tiny), kPage);
  EXPECT_THROW(cache.advance(whole, 21), Error);
}

TEST(KvCachePages, APoolSmallerThanOneContextIsRefusedWithAHint) {
  try {
    KvCache cache(test_device(), 1, 2, 1, 64, 4, 32);
    FAIL() << "a 32-position pool for a 64-position context was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--kv-tokens"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vkinfer
