// Generation on one rank: bucketed (and, past the largest bucket, chunked)
// prefill of a left-padded batch, then one decode step per token against the
// KV cache, with sampling on the GPU. Only the chosen ids cross back to the
// host per step (with tp > 1, each rank's small candidate list is gathered
// instead of the logits). Every rank runs this same loop; rank 0 reports.
#pragma once

#include <functional>
#include <vector>

#include "engine/model/decoder.h"
#include "engine/ops/sampling.h"

namespace vkinfer {

struct GenerateOptions {
  ops::SamplingParams sampling;
  int64_t max_new_tokens = 64;
  bool ignore_eos = false;
  std::vector<int64_t> prefill_buckets;  // empty: powers of two from 16
  bool want_prefill_logits = false;      // [T, vocab] of sequence 0 (--logits-out)
};

struct SequenceResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> new_ids;
  std::string finish_reason;  // "eos", "length", "stop"
};

struct GenerateResult {
  std::vector<SequenceResult> sequences;
  double prefill_ms = 0;          // prompt forward + first token
  double decode_seconds = 0;      // the remaining steps
  int64_t decode_steps = 0;
  int64_t prefill_rows = 0;       // padded prompt length
  std::vector<float> prefill_logits;  // [prompt_len, vocab] when asked (rank 0)
  double decode_tokens_per_s() const {
    return decode_seconds > 0 ? double(decode_steps) / decode_seconds : 0.0;
  }
};

// Called on every new token of every live sequence; return true to stop that
// sequence (stop strings are matched by the caller on decoded text).
using TokenCallback = std::function<bool(size_t sequence, int32_t token)>;

class Generator {
 public:
  explicit Generator(Decoder& decoder);
  GenerateResult run(const std::vector<std::vector<int32_t>>& prompts,
                     const GenerateOptions& options, const TokenCallback& on_token = {});

 private:
  void warm_up();
  std::vector<int32_t> sample_step(vk::CommandStream& stream, const GenerateOptions& options,
                                   uint32_t step, int64_t rows, ops::View logits);
  Decoder& decoder_;
  ops::SamplerBuffers sampler_;
  vk::Buffer gathered_candidates_, gathered_stats_;  // [ranks][B][C], [ranks][B]
};

// Checks prompt lengths, ids and sampling values against the model before
// anything runs; throws kInvalidArgument with what to change.
void validate_request(const DecoderConfig& config, int64_t ctx,
                      const std::vector<std::vector<int32_t>>& prompts,
                      const GenerateOptions& options);

}  // namespace vkinfer
