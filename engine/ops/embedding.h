// Embedding gather from a row-chunked Weight (fp32 or fp16), one dispatch per
// chunk. Vocab-parallel ranks hold rows [row_offset, row_offset + rows) of
// the full table; ids outside that range contribute 0, so the ranks' outputs
// sum (all_reduce) to the full embedding.
#pragma once

#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"

namespace vkinfer::ops {

struct EmbeddingArgs {
  const Weight* table = nullptr;  // [rows, N] (N = table->cols)
  View ids;                       // uint32 per row: ids.buffer[ids.offset + m]
  int64_t M = 0;
  View y;                         // [M, N]
  bool accumulate = false;        // y += scale * row instead of y = scale * row
  int64_t row_offset = 0;         // local table row = id - row_offset
  float scale = 1.0f;
};

void embedding(vk::CommandStream& stream, const EmbeddingArgs& args);

}  // namespace vkinfer::ops
