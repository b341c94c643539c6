#include "engine/weights/block_layout.h"

#include <cstring>

#include "engine/core/error.h"

namespace vkinfer {
namespace {

// Where each part of a GGUF block goes: `count` bytes at `from` in the GGUF
// block go to `to` in the quant (is_meta false) or meta record of the block.
struct Move {
  int from, count, to;
  bool is_meta;
};
struct Split {
  WeightFormatId id;
  BlockLayout layout;
  Move moves[3];
  int move_count;
};

// Offsets from ggml's block structs (block_q8_0 {d; qs[32]}, block_q5_0
// {d; qh[4]; qs[16]}, block_q4_K {d; dmin; scales[12]; qs[128]},
// block_q6_K {ql[128]; qh[64]; scales[16]; d} ...). Q5_0's meta keeps qh
// at +4 so it stays word-aligned; Q6_K's keeps d after the 16 scales.
constexpr Split kSplits[] = {
    {WeightFormatId::kQ8_0, {32, 2}, {{0, 2, 0, true}, {2, 32, 0, false}}, 2},
    {WeightFormatId::kQ4_0, {16, 2}, {{0, 2, 0, true}, {2, 16, 0, false}}, 2},
    {WeightFormatId::kQ4_1, {16, 4}, {{0, 4, 0, true}, {4, 16, 0, false}}, 2},
    {WeightFormatId::kQ5_0, {16, 8}, {{0, 2, 0, true}, {2, 4, 4, true}, {6, 16, 0, false}}, 3},
    {WeightFormatId::kQ5_1, {16, 8}, {{0, 8, 0, true}, {8, 16, 0, false}}, 2},
    {WeightFormatId::kQ4_K, {128, 16}, {{0, 16, 0, true}, {16, 128, 0, false}}, 2},
    {WeightFormatId::kQ5_K, {160, 16}, {{0, 16, 0, true}, {16, 32, 0, false}, {48, 128, 32, false}}, 3},
    {WeightFormatId::kQ6_K, {192, 20}, {{0, 192, 0, false}, {192, 16, 0, true}, {208, 2, 16, true}}, 3},
};

const Split& split_for(const WeightFormat& format) {
  for (const Split& split : kSplits)
    if (split.id == format.id) return split;
  fail(ErrorCode::kInternal, "weight format {} has no device block layout", format.name);
}

}  // namespace

BlockLayout device_block_layout(const WeightFormat& format) { return split_for(format).layout; }

uint64_t device_meta_bytes(const WeightFormat& format, int64_t blocks) {
  const uint64_t bytes = uint64_t(blocks) * uint64_t(split_for(format).layout.meta_bytes);
  return (bytes + 3) / 4 * 4;
}

void split_blocks(const WeightFormat& format, const uint8_t* src, int64_t blocks, uint8_t* quants,
                  uint8_t* meta) {
  const Split& split = split_for(format);
  const int64_t quant_bytes = split.layout.quant_bytes, meta_bytes = split.layout.meta_bytes;
  std::memset(meta, 0, device_meta_bytes(format, blocks));
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* block = src + b * format.block_bytes;
    for (int m = 0; m < split.move_count; ++m) {
      const Move& move = split.moves[m];
      uint8_t* dst = move.is_meta ? meta + b * meta_bytes : quants + b * quant_bytes;
      std::memcpy(dst + move.to, block + move.from, move.count);
    }
  }
}

}  // namespace vkinfer
