// One rank's BERT weights on the device (BertForSequenceClassification, or a
// BertModel's encoder for sentence embeddings), in
// nn.Linear orientation [out, in]. Heads and MLP columns are this rank's
// slice (Megatron column/row parallel), the word embedding holds this rank's
// vocabulary rows; the small embeddings, norms, pooler and classifier are
// replicated. Norm gains and biases are fp32; matrices are in the run's dtype.
#pragma once

#include <vector>

#include "engine/model/config.h"
#include "engine/weights/weight_loader.h"
#include "engine/model/rank_plan.h"

namespace vkinfer {

struct EncoderLayerWeights {
  Weight qkv;                 // [3 * heads_local * head_dim, hidden] stacked [q | k | v]
  Tensor qkv_bias;            // [3 * heads_local * head_dim]
  Weight attn_out;            // [hidden, heads_local * head_dim] local input columns
  Tensor attn_out_bias;       // [hidden] on rank 0 only (added once by the all-reduce)
  Tensor attn_norm_gain, attn_norm_bias;  // [hidden] attention.output.LayerNorm
  Weight mlp_up;              // [intermediate_local, hidden] intermediate.dense
  Tensor mlp_up_bias;         // [intermediate_local]
  Weight mlp_down;            // [hidden, intermediate_local] output.dense
  Tensor mlp_down_bias;       // [hidden] on rank 0 only
  Tensor mlp_norm_gain, mlp_norm_bias;    // [hidden] output.LayerNorm
};

struct EncoderWeights {
  Weight word;                // [vocab_local, hidden] vocab-parallel rows
  Weight positions;           // [max_position_embeddings, hidden]
  Weight token_types;         // [type_vocab_size, hidden]
  Tensor embed_norm_gain, embed_norm_bias;  // [hidden] embeddings.LayerNorm
  std::vector<EncoderLayerWeights> layers;
  // Classification only (empty when loaded for sentence embeddings):
  Weight pooler;              // [hidden, hidden] tanh dense on [CLS]
  Tensor pooler_bias;         // [hidden]
  Weight classifier;          // [num_labels, hidden]
  Tensor classifier_bias;     // [num_labels]
  uint64_t device_bytes() const;
};

// "bert." when the checkpoint names its encoder that way
// (BertForSequenceClassification), "" for a BertModel's `embeddings.*`.
std::string encoder_prefix(const WeightLoader& loader);
// Whether the checkpoint holds a pooler and a classifier (what classify needs).
bool encoder_has_classifier(const WeightLoader& loader);

// The family's tensor plan (the loader is asked which norm parameter names
// the file uses: old TF ports say gamma/beta, and which prefix). `head`: the
// pooler and classifier too (classification); kUnsupported with a hint when
// asked for them from a BertModel checkpoint.
std::vector<PlannedTensor> encoder_tensor_plan(const WeightLoader& loader, const BertConfig& config,
                                               bool head = true);

EncoderWeights load_encoder_weights(const WeightLoader& loader, const BertConfig& config,
                                    const RankShape& shape, TpConfig tp, bool head = true);

// Bytes one rank's weights take on the device, from the config alone (for
// memory planning before anything is allocated); `head` as above.
uint64_t encoder_weight_bytes(const BertConfig& config, const RankShape& shape, DType dtype,
                              bool head = true);

}  // namespace vkinfer
