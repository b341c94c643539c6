// The long-lived side of generation on one rank, built at load: the decoder,
// its KV cache, one sampler per cache slot, and a warm-up so that no request
// pays for pipeline compilation. `step` runs what the Scheduler planned: one
// forward over the step batch, then a token for every sequence whose rows
// reached the end of what it has to feed. Each sequence samples with its own
// SamplingParams, its own step counter and its own slot's seen-token bitmap,
// so its tokens do not depend on what else runs. With tp > 1 every rank runs
// the same steps; sampling exchanges each rank's candidates, never logits.
// With pp > 1 each stage's engine runs the same steps over its own layers:
// a stage receives its input rows from the one before and sends its output
// rows to the one after, the last stage samples, and the tokens are
// broadcast back to every stage. A step's sequences may be cut into
// microbatches, so that stage s works on one while stage s + 1 works on the
// one before (each stage is its own thread or process).
#pragma once

#include <memory>
#include <vector>

#include "engine/model/decoder.h"
#include "engine/model/kv_cache.h"
#include "engine/ops/sampling.h"
#include "engine/parallel/device_collectives.h"
#include "engine/runtime/sequence.h"

namespace vkinfer {

// How this rank's pipeline stage reaches its neighbours: the pp group (one
// rank per stage, ordered by stage, same tp_rank) and how many microbatches
// a step's sequences are cut into. Without a group (or one of one rank) the
// decoder is the whole model.
struct StageLinks {
  Communicator* pp = nullptr;
  int microbatches = 1;
};

class Engine {
 public:
  explicit Engine(Decoder& decoder, StageLinks links = {});

  Decoder& decoder() { return decoder_; }
  KvCache& cache() { return cache_; }
  // Rows one step may carry and the longest prefill chunk (Scheduler limits).
  int64_t max_rows() const { return decoder_.limits().max_rows(); }
  int64_t max_chunk() const { return decoder_.limits().max_rows_per_seq; }

  // Runs one planned step on `stream` (which must be idle) and waits for it.
  // Advances each sequence's `fed`; returns, per planned entry, the token
  // sampled for it or -1 (a prefill chunk short of the prompt's end). The
  // sequence's own state is not otherwise changed: accepting the token
  // (eos, stop strings, length) is the caller's. With all_logits the
  // decoder keeps every row's logits (Decoder::logits()).
  std::vector<int32_t> step(vk::CommandStream& stream, const std::vector<ScheduledRows>& plan,
                            bool all_logits = false);
  // After step(), per planned entry: the raw log-probabilities of the token
  // sampled for it, where its sequence asked for them (Sequence::logprobs >=
  // 0); on every stage and rank. Valid until the next step.
  const std::vector<ops::TokenLogprobs>& logprobs() const { return logprobs_; }

  // What the load-time warm-up cost: pipelines it created and seconds spent
  // (creation plus, on drivers that compile at first dispatch, the JIT).
  uint64_t pipelines_built() const { return pipelines_built_; }
  double pipeline_seconds() const { return pipeline_seconds_; }

 private:
  void warm_up();
  void sample(vk::CommandStream& stream, const std::vector<Sequence*>& sequences,
              const std::vector<int64_t>& logit_rows);
  // The logprob pass of the sequences that asked for one, after sample():
  // fills slot_logprobs_ (tp > 1: one more all_gather, of N' candidates and
  // one stats record per rank and sequence).
  void sample_logprobs(vk::CommandStream& stream, const std::vector<Sequence*>& sequences,
                       const std::vector<int64_t>& logit_rows);
  // One microbatch: plan entries [begin, end) through this stage, sampled
  // into `tokens` on the last stage.
  void run_microbatch(vk::CommandStream& stream, const std::vector<ScheduledRows>& plan, size_t begin,
                      size_t end, bool all_logits, int tag, std::vector<int32_t>& tokens);
  bool pipelined() const { return links_.pp && links_.pp->world() > 1; }

  Decoder& decoder_;
  StageLinks links_;
  std::unique_ptr<DeviceCollectives> stage_links_;  // pp > 1: hidden rows to and from neighbours
  KvCache cache_;
  std::vector<ops::SamplerBuffers> samplers_;  // [slots], one row each
  // tp > 1: per slot, the gathered candidates [ranks][C] and stats [ranks].
  std::vector<vk::Buffer> gathered_candidates_, gathered_stats_;
  StepBatch batch_;                  // reused host inputs of the step
  std::vector<uint8_t> exchange_;    // tp > 1: this rank's candidates of the step, packed
  std::vector<uint8_t> exchanged_;   // tp > 1: every rank's
  std::vector<ops::TokenLogprobs> logprobs_;       // [plan entries] of the last step
  std::vector<ops::TokenLogprobs> slot_logprobs_;  // [slots] of the last logprob pass
  // tp > 1: one sequence's logprob-pass results of every rank, rank-major.
  std::vector<params::SampleCandidate> logprob_candidates_;  // [ranks][N']
  std::vector<params::SampleStats> logprob_stats_;           // [ranks]
  uint64_t pipelines_built_ = 0;
  double pipeline_seconds_ = 0;
};

}  // namespace vkinfer
