// One rank's decoder weights on the device, in nn.Linear orientation
// [out, in], whatever the family stored (GPT-2 Conv1D is transposed at load,
// GPT-NeoX's per-head interleaved qkv is regrouped). Norm gains and biases
// are fp32; matrices are in the run's dtype.
#pragma once

#include <vector>

#include "engine/model/config.h"
#include "engine/weights/weight_loader.h"
#include "engine/model/rank_plan.h"

namespace vkinfer {

struct DecoderLayerWeights {
  Tensor attn_norm_gain, attn_norm_bias;  // [hidden]; bias empty for RMSNorm
  Tensor mlp_norm_gain, mlp_norm_bias;    // [hidden]; unused by GPT-J (shared norm)
  Weight qkv;            // [(heads + 2 kv_heads) * head_dim, hidden], local heads
  Tensor qkv_bias;       // [(heads + 2 kv_heads) * head_dim] or empty
  Weight attn_out;       // [hidden, heads * head_dim], local input columns
  Tensor attn_out_bias;  // [hidden] on rank 0 only (added once by the all-reduce)
  Weight mlp_up;         // [intermediate_local, hidden]
  Weight mlp_gate;       // [intermediate_local, hidden], gated MLPs only
  Tensor mlp_up_bias;    // [intermediate_local] or empty
  Weight mlp_down;       // [hidden, intermediate_local]
  Tensor mlp_down_bias;  // [hidden] on rank 0 only
};

struct DecoderWeights {
  Weight embed;             // [vocab_local, embed_dim] vocab-parallel rows (embedding stage)
  Weight positions;         // [max_positions + offset, hidden] learned positions
  Weight project_in;        // OPT: [hidden, embed_dim]
  Weight project_out;       // OPT: [embed_dim, hidden]
  Tensor final_norm_gain, final_norm_bias;
  Weight lm_head_own;       // [vocab_local, embed_dim] when not tied, or tied on a head
                            // stage that lacks the embedding
  Tensor lm_head_bias;      // [vocab_local] (GPT-J)
  std::vector<DecoderLayerWeights> layers;
  const Weight& lm_head() const { return lm_head_own.empty() ? embed : lm_head_own; }
  uint64_t device_bytes() const;
};

// The family's tensor plan for `stage`: canonical names, split kinds and
// Hugging Face sources (the loader is asked which name prefix the file uses).
std::vector<PlannedTensor> decoder_tensor_plan(const WeightLoader& loader, const DecoderConfig& config,
                                               const StageRange& stage);

// The stage's layers (layers[0] is its first_layer), its embeddings when it
// has them, and the final norm and LM head when it has the head. A head
// stage without the embedding loads a tied head's matrix as lm_head_own.
DecoderWeights load_decoder_weights(const WeightLoader& loader, const DecoderConfig& config,
                                    const RankShape& shape, TpConfig tp, const StageRange& stage);

// Bytes one rank's weights of `stage` take on the device, computed from the
// config alone (for memory planning before anything is allocated). Matrices
// take `matrix_bytes_per_weight` each (block formats: their average; 0: the
// dtype's size).
uint64_t decoder_weight_bytes(const DecoderConfig& config, const RankShape& shape, DType dtype,
                              const StageRange& stage,
                              double matrix_bytes_per_weight = 0);

}  // namespace vkinfer
