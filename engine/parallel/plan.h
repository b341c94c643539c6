// Megatron-style partitioning of a decoder or encoder over `world` ranks:
// which heads, MLP columns and vocabulary rows this rank owns. Q/K/V and MLP
// up/gate are column-parallel (outputs stay sharded), attention-out and MLP
// down are row-parallel (one all-reduce each), the embedding is
// vocab-parallel and the LM head column-parallel over the padded vocabulary.
// Pipeline stages hold contiguous layer ranges (plan_stages): the first also
// the embeddings, the last the final norm and the head.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/parallel/communicator.h"

namespace vkinfer {

struct RankShape {
  int64_t heads = 0;            // local query heads
  int64_t head_begin = 0;       // global index of the first local query head
  int64_t kv_heads = 0;         // local kv heads (1 when replicated)
  int64_t kv_head_begin = 0;    // global index of the first local kv head
  int64_t intermediate = 0;     // local MLP width
  int64_t intermediate_begin = 0;
  int64_t vocab_padded = 0;     // vocab rounded up to a multiple of world
  int64_t vocab_local = 0;      // rows of this rank's embedding / LM-head slice
  int64_t vocab_begin = 0;      // global id of the slice's first row
  int64_t vocab_valid = 0;      // real (non-padding) rows in the slice
};

// Throws kInvalidArgument with what to do when the model cannot be split.
RankShape plan_rank(int64_t num_heads, int64_t num_kv_heads, int64_t intermediate,
                    int64_t vocab, TpConfig tp);

struct StageRange {
  int64_t first_layer = 0;
  int64_t end_layer = 0;        // one past the stage's last layer
  bool has_embedding = false;   // first stage: token (and position) embeddings
  bool has_head = false;        // last stage: final norm and LM / classifier head
  int64_t layers() const { return end_layer - first_layer; }
};

// `pp` stages of whole layers, as even as possible, the remainder going to
// the later stages (one more layer each), as NxD's auto partition does.
// Throws kInvalidArgument when pp < 1 or a stage would have no layer.
std::vector<StageRange> plan_stages(int64_t num_layers, int pp);
// Explicit cuts: cuts[i] is the first layer of stage i + 1, so there are
// cuts.size() + 1 stages. Throws kInvalidArgument unless the cuts are
// strictly increasing and inside [1, num_layers - 1].
std::vector<StageRange> plan_stages(int64_t num_layers, const std::vector<int64_t>& cuts);

}  // namespace vkinfer
