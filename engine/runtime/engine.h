// The long-lived side of generation on one rank, built at load: the decoder,
// its KV cache, one sampler per cache slot, and a warm-up so that no request
// pays for pipeline compilation. `step` runs what the Scheduler planned: one
// forward over the step batch, then a token for every sequence whose rows
// reached the end of what it has to feed. Each sequence samples with its own
// SamplingParams, its own step counter and its own slot's seen-token bitmap,
// so its tokens do not depend on what else runs. With tp > 1 every rank runs
// the same steps; sampling exchanges each rank's candidates, never logits.
#pragma once

#include <vector>

#include "engine/model/decoder.h"
#include "engine/model/kv_cache.h"
#include "engine/ops/sampling.h"
#include "engine/runtime/sequence.h"

namespace vkinfer {

class Engine {
 public:
  explicit Engine(Decoder& decoder);

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

  // What the load-time warm-up cost: pipelines it created and seconds spent
  // (creation plus, on drivers that compile at first dispatch, the JIT).
  uint64_t pipelines_built() const { return pipelines_built_; }
  double pipeline_seconds() const { return pipeline_seconds_; }

 private:
  void warm_up();
  void sample(vk::CommandStream& stream, const std::vector<Sequence*>& sequences,
              const std::vector<int64_t>& logit_rows);

  Decoder& decoder_;
  KvCache cache_;
  std::vector<ops::SamplerBuffers> samplers_;  // [slots], one row each
  // tp > 1: per slot, the gathered candidates [ranks][C] and stats [ranks].
  std::vector<vk::Buffer> gathered_candidates_, gathered_stats_;
  StepBatch batch_;                  // reused host inputs of the step
  std::vector<uint8_t> exchange_;    // tp > 1: this rank's candidates of the step, packed
  std::vector<uint8_t> exchanged_;   // tp > 1: every rank's
  uint64_t pipelines_built_ = 0;
  double pipeline_seconds_ = 0;
};

}  // namespace vkinfer
