// The one decoder graph for GPT-2, Llama, OPT, GPT-J and GPT-NeoX. Family
// differences are data in DecoderConfig (norm kind, rotary style, parallel
// residual, pre/post norm, projections, biases). One forward runs a step
// batch: several sequences' rows packed together, each with its own KV-cache
// slot and positions, so a prefill chunk and other sequences' decode rows go
// in one forward. The decoder owns no sequence state (that lives in the
// KvCache and in runtime/). The graph is rank-local: it
// holds this rank's heads, MLP columns and vocabulary slice, and calls the
// Communicator after each row-parallel layer (a no-op at world == 1).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "engine/model/decoder_weights.h"
#include "engine/model/kv_cache.h"
#include "engine/ops/attention.h"
#include "engine/ops/matmul.h"
#include "engine/ops/policy.h"
#include "engine/ops/view.h"
#include "engine/vk/command_stream.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/device_collectives.h"

namespace vkinfer {

struct DecoderLimits {
  int64_t batch = 1;             // KV-cache slots: sequences running at once
  int64_t ctx = 0;               // KV-cache positions per sequence
  // Positions of the paged KV cache's pool, shared by the slots (0: batch x
  // ctx, so every slot can hold a whole context at once; --kv-tokens).
  int64_t kv_tokens = 0;
  int64_t max_rows_per_seq = 0;  // longest prefill chunk of one sequence
  bool all_logits = false;       // keep logits for every row (--logits-out)
  // --quant: the recipe that quantizes the weight matrices at load
  // (quant_recipe.h: "q8_0" ... "q4_k_m"); "" keeps --dtype. A GGUF file's
  // block tensors keep their own blocks either way.
  std::string quant;
  // Rows one step may carry: every slot's longest chunk (the activations'
  // size, as when sequences ran side by side).
  int64_t max_rows() const { return batch * max_rows_per_seq; }
};

// One sequence of a step batch. Its rows sit at positions
// cache.length(slot) .. + rows - 1 and see only its own slot's keys.
struct StepSequence {
  int slot = -1;            // its KV-cache slot
  int64_t rows = 0;         // new rows: a prefill chunk, or 1 when decoding
  // Dynamic rope_scaling picks the rotary base from the length
  // transformers' forward would see: a chunked prefill passes the whole
  // prompt's; 0 means this step's end (cached length + rows).
  int64_t rope_length = 0;
};

// The rows of one forward: sequences back to back, no padding between them.
struct StepBatch {
  std::vector<int32_t> ids;              // [sum of rows] token ids, in sequence order (a
                                         // stage without the embedding uses only their count)
  std::vector<StepSequence> sequences;   // at most one entry per slot
  bool all_logits = false;               // logits of every row, not only each sequence's last
};

// Bytes of KV cache + activations for one rank of `stage` (planning before
// allocating).
uint64_t decoder_runtime_bytes(const DecoderConfig& config, const RankShape& shape,
                               const DecoderLimits& limits, const StageRange& stage);

// A pipeline stage of the decoder: its layers, and whether it holds the
// embeddings (its forward starts from token ids) and the head (it ends in
// logits). A stage without the embedding starts from the rows in hidden(),
// which the caller fills (the previous stage's hidden() output, received);
// a stage without the head leaves its output rows in hidden(). The whole
// model is the one stage that has both.
class Decoder {
 public:
  Decoder(vk::Device& device, Communicator& comm, const DecoderConfig& config, RankShape shape,
          DecoderWeights weights, DecoderLimits limits, StageRange stage);

  // The KV cache this decoder's forward reads and writes (slots = batch).
  KvCache make_cache() const;

  // Records one forward over a step batch: each sequence's rows at its own
  // slot and positions (prefill chunks and decode rows mixed). Leaves this
  // rank's vocab-slice logits for the last row of each sequence, in
  // sequence order (or every row with step.all_logits) in logits(), and
  // advances each slot's cached length. The step's inputs are written to
  // the device at once, so no recorded forward may still be waiting to run.
  // Submits (and waits) only at all-reduces.
  void forward(vk::CommandStream& stream, KvCache& cache, const StepBatch& step);

  const Tensor& logits() const { return logits_; }  // [rows, vocab_local]; head stages
  // [max rows, hidden]: a stage's input rows (without the embedding) and its
  // output rows (without the head), packed as the step's ids would be.
  const Tensor& hidden() const { return hidden_; }
  const StageRange& stage() const { return stage_; }
  const DecoderConfig& config() const { return config_; }
  const RankShape& shape() const { return shape_; }
  const DecoderLimits& limits() const { return limits_; }
  vk::Device& device() const { return device_; }
  Communicator& comm() const { return comm_; }
  const ops::KernelPolicy& policy() const { return policy_; }
  uint64_t weight_bytes() const { return weights_.device_bytes(); }
  // Builds, at load, every pipeline a forward can pick, by running one
  // forward per row class on `cache` (whose slots it borrows and gives back
  // empty). The caller seals the device when the rest of its load-time work
  // (sampling) is done too.
  void prepare_pipelines(KvCache& cache);
  // What prepare_pipelines() cost at load: pipelines it created and seconds
  // spent (creation plus, on drivers that compile at first dispatch, the JIT).
  uint64_t pipelines_built() const { return pipelines_built_; }
  double pipeline_seconds() const { return pipeline_seconds_; }

 private:
  // Checks the step against the cache and limits and uploads its row table.
  void set_inputs(KvCache& cache, const StepBatch& step);
  void embed(vk::CommandStream& stream, int64_t rows);
  void layer(vk::CommandStream& stream, KvCache& cache, size_t index, int64_t rows);
  void head(vk::CommandStream& stream, const StepBatch& step);
  void prepare_input_norms();

  vk::Device& device_;
  Communicator& comm_;
  DecoderConfig config_;
  RankShape shape_;
  DecoderWeights weights_;
  DecoderLimits limits_;
  StageRange stage_;
  ops::KernelPolicy policy_;
  DeviceCollectives collectives_;  // all-reduces over comm_, staging planned at load
  // This step: its single sequence's slot and cached length (the GEMM
  // attention path), or slot -1 when it mixes sequences.
  int single_slot_ = -1;
  int64_t single_past_ = 0;

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
  vk::Buffer ids_;            // [R] uint32 token ids
  vk::Buffer position_rows_;  // [R] uint32 learned-position table rows
  // [R] ops::AttentionRow: per row its slot, visible keys, first fresh
  // position, rotary position and log2(base).
  // Rewritten by every step; small, so a plain upload.
  vk::Buffer row_table_;
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
  std::vector<ops::AttentionRow> rows_host_;  // [R] row table being built (reused)
  std::vector<int32_t> position_rows_host_;  // [R]
  uint64_t pipelines_built_ = 0;
  double pipeline_seconds_ = 0;
};

}  // namespace vkinfer
