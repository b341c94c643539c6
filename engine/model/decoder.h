// The one decoder graph for GPT-2, Llama, OPT, GPT-J and GPT-NeoX. Family
// differences are data in DecoderConfig (norm kind, rotary style, parallel
// residual, pre/post norm, projections, biases). The graph is rank-local: it
// holds this rank's heads, MLP columns and vocabulary slice, and calls the
// Communicator after each row-parallel layer (a no-op at world == 1).
#pragma once

#include <deque>
#include <memory>
#include <vector>

#include "engine/model/decoder_weights.h"
#include "engine/ops/matmul.h"
#include "engine/ops/policy.h"
#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"
#include "engine/parallel/communicator.h"

namespace vkinfer {

struct DecoderLimits {
  int64_t batch = 1;          // sequences per forward
  int64_t ctx = 0;            // KV-cache positions per sequence
  int64_t max_rows_per_seq = 0;  // longest prefill chunk (largest bucket)
  bool all_logits = false;    // keep logits for every row (--logits-out)
};

// Bytes of KV cache + activations for one rank (planning before allocating).
uint64_t decoder_runtime_bytes(const DecoderConfig& config, const RankShape& shape,
                               const DecoderLimits& limits);

class Decoder {
 public:
  Decoder(vk::Device& device, Communicator& comm, const DecoderConfig& config, RankShape shape,
          DecoderWeights weights, DecoderLimits limits);

  // Host inputs for the next forward, `batch * rows_per_seq` rows:
  // token ids, logical positions (for rotary/learned positions) and, per
  // sequence, the first visible key (left padding). The inputs are written
  // at once, so no recorded forward may still be waiting to run.
  // `rope_length` is the length transformers' forward would see (dynamic
  // rope_scaling picks its base from it): a chunked prefill passes the whole
  // prompt's; 0 means the largest position + 1, right for a whole forward.
  void set_inputs(const std::vector<int32_t>& ids, const std::vector<int32_t>& positions,
                  const std::vector<uint32_t>& first_key, int64_t rows_per_seq,
                  int64_t rope_length = 0);
  // Records one forward over the rows set by set_inputs, with the first
  // query row of each sequence at cache position `past`. Leaves this rank's
  // vocab-slice logits for the last row of each sequence (or every row with
  // all_rows) in logits(). Submits (and waits) only at all-reduces.
  void forward(vk::CommandStream& stream, int64_t past, bool all_rows = false);

  const Tensor& logits() const { return logits_; }  // [rows, vocab_local]
  const DecoderConfig& config() const { return config_; }
  const RankShape& shape() const { return shape_; }
  const DecoderLimits& limits() const { return limits_; }
  vk::Device& device() const { return device_; }
  Communicator& comm() const { return comm_; }
  const ops::KernelPolicy& policy() const { return policy_; }
  uint64_t weight_bytes() const { return weights_.device_bytes(); }
  // What prepare_pipelines() cost at load: pipelines it created and seconds
  // spent (creation plus, on drivers that compile at first dispatch, the JIT).
  uint64_t pipelines_built() const { return pipelines_built_; }
  double pipeline_seconds() const { return pipeline_seconds_; }

 private:
  void prepare_pipelines();
  void all_reduce(vk::CommandStream& stream, const Tensor& tensor, int64_t rows);
  void layer(vk::CommandStream& stream, size_t index, int64_t rows, int64_t past);
  void prepare_input_norms();

  vk::Device& device_;
  Communicator& comm_;
  DecoderConfig config_;
  RankShape shape_;
  DecoderWeights weights_;
  DecoderLimits limits_;
  ops::KernelPolicy policy_;
  int64_t rows_per_seq_ = 0;
  float rope_base_ = 0;  // this forward's rotary base (dynamic rope_scaling moves it)

  Tensor hidden_;      // [R, hidden] residual stream
  Tensor hidden_alt_;  // [R, hidden] attention branch (parallel residual)
  Tensor normed_;      // [R, hidden]
  Tensor normed_mlp_;  // [R, hidden] NeoX parallel: the MLP's own norm
  Tensor embedded_;    // [R, embed_dim] OPT before project_in
  Tensor qkv_;         // [R, (heads + 2 kv_heads) * head_dim]
  Tensor attn_;        // [R, heads * head_dim]
  Tensor mlp_;         // [R, intermediate_local]
  Tensor last_;        // [R or B, hidden] rows that get logits
  Tensor last_proj_;   // [R or B, embed_dim]
  Tensor logits_;      // [R or B, vocab_local]
  vk::Buffer ids_, positions_, position_rows_, seq_bounds_;
  // Norms finished inside the matmuls that read them (decode steps of
  // pre-norm models, see ops::InputNorm): per layer, the attention input's
  // and the MLP input's, and the final norm's for the LM head. LayerNorm's
  // weight sums live in the *_sums tensors.
  bool fuse_norms_ = false;
  std::vector<ops::InputNorm> attn_input_norms_, mlp_input_norms_;
  ops::InputNorm head_input_norm_;
  bool fuse_head_norm_ = false;
  std::deque<Tensor> norm_sums_;  // a deque: the InputNorms point into it
  vk::Buffer scores_;  // attention scores scratch for long prefill blocks; may be empty
  std::vector<vk::Buffer> k_cache_, v_cache_;  // per layer [B][kv_heads][ctx][head_dim]
  uint64_t pipelines_built_ = 0;
  double pipeline_seconds_ = 0;
};

}  // namespace vkinfer
