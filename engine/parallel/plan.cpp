// The rank plan: this rank's tensor-parallel slice (plan_rank) and the
// pipeline stages' layer ranges (plan_stages). Pure functions.
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

namespace {

std::vector<StageRange> stages_from_bounds(const std::vector<int64_t>& bounds) {
  std::vector<StageRange> stages;
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    StageRange stage;
    stage.first_layer = bounds[i];
    stage.end_layer = bounds[i + 1];
    stage.has_embedding = i == 0;
    stage.has_head = i + 2 == bounds.size();
    stages.push_back(stage);
  }
  return stages;
}

}  // namespace

std::vector<StageRange> plan_stages(int64_t num_layers, int pp) {
  if (pp < 1) fail(ErrorCode::kInvalidArgument, "--pp must be >= 1 (got {})", pp);
  if (num_layers < pp)
    fail(ErrorCode::kInvalidArgument, "--pp {} exceeds the model's {} layers: a stage would hold "
         "no layer. HINT: use at most {} stages", pp, num_layers, num_layers);
  const int64_t base = num_layers / pp, extra = num_layers % pp;
  std::vector<int64_t> bounds{0};
  for (int64_t s = 0; s < pp; ++s) bounds.push_back(bounds.back() + base + (s >= pp - extra ? 1 : 0));
  return stages_from_bounds(bounds);
}

std::vector<StageRange> plan_stages(int64_t num_layers, const std::vector<int64_t>& cuts) {
  if (num_layers < 1) fail(ErrorCode::kInvalidArgument, "a model of {} layers has no stages", num_layers);
  std::vector<int64_t> bounds{0};
  for (size_t i = 0; i < cuts.size(); ++i) {
    if (cuts[i] < 1 || cuts[i] >= num_layers)
      fail(ErrorCode::kInvalidArgument, "pipeline cut {} (layer {}) is outside [1, {}]: every stage "
           "needs at least one of the {} layers", i + 1, cuts[i], num_layers - 1, num_layers);
    if (cuts[i] <= bounds.back())
      fail(ErrorCode::kInvalidArgument, "pipeline cuts must be strictly increasing: cut {} (layer {}) "
           "follows layer {}", i + 1, cuts[i], bounds.back());
    bounds.push_back(cuts[i]);
  }
  bounds.push_back(num_layers);
  return stages_from_bounds(bounds);
}

}  // namespace vkinfer
