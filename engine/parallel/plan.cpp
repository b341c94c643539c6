#include "engine/parallel/plan.h"

#include <algorithm>

#include "engine/core/error.h"

namespace vkinfer {

RankShape plan_rank(int64_t num_heads, int64_t num_kv_heads, int64_t intermediate,
                    int64_t vocab, TpConfig tp) {
  const int64_t world = tp.world;
  if (world < 1 || tp.rank < 0 || tp.rank >= world)
    fail(ErrorCode::kInvalidArgument, "bad tensor-parallel rank {} of {}", tp.rank, world);
  if (num_heads % world != 0)
    fail(ErrorCode::kInvalidArgument,
         "--tp {} does not divide the model's {} attention heads. HINT: use a tp "
         "degree that divides {}", world, num_heads, num_heads);
  if (num_kv_heads >= world ? num_kv_heads % world != 0 : world % num_kv_heads != 0)
    fail(ErrorCode::kInvalidArgument,
         "--tp {} and the model's {} key/value heads: tp must divide the kv heads "
         "or be a multiple of them (then kv heads are replicated)", world, num_kv_heads);
  if (intermediate < world)
    fail(ErrorCode::kInvalidArgument, "--tp {} exceeds the MLP width {}", world, intermediate);
  RankShape shape;
  shape.heads = num_heads / world;
  shape.head_begin = shape.heads * tp.rank;
  if (num_kv_heads >= world) {
    shape.kv_heads = num_kv_heads / world;
    shape.kv_head_begin = shape.kv_heads * tp.rank;
  } else {
    // Fewer kv heads than ranks: each rank keeps the one its queries use.
    const int64_t group = num_heads / num_kv_heads;
    shape.kv_heads = 1;
    shape.kv_head_begin = shape.head_begin / group;
  }
  // MLP columns need not divide evenly: rank r owns [r*I/world, (r+1)*I/world).
  shape.intermediate_begin = intermediate * tp.rank / world;
  shape.intermediate = intermediate * (tp.rank + 1) / world - shape.intermediate_begin;
  shape.vocab_padded = (vocab + world - 1) / world * world;
  shape.vocab_local = shape.vocab_padded / world;
  shape.vocab_begin = shape.vocab_local * tp.rank;
  shape.vocab_valid = std::max<int64_t>(0, std::min(vocab - shape.vocab_begin, shape.vocab_local));
  return shape;
}

}  // namespace vkinfer
