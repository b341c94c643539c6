// Token sampling on the device, with the semantics of transformers 4.40.2
// generate(): RepetitionPenaltyLogitsProcessor, then Temperature, TopK and
// TopP warpers (min_tokens_to_keep = 1), then a multinomial draw; greedy is
// the argmax after the penalty (first id on ties).
//
// Split in two so tensor parallelism exchanges only candidates:
//   sample_candidates: each rank, on its vocab slice -> top-C candidates and
//                      (max, sum exp) per row, in SamplerBuffers;
//   (all_gather of candidates and stats, rank-major: [R][B][C], [R][B])
//   sample_finish:     every rank, on the gathered lists -> the same token.
// With one device, `sample` does both.
//
// Exactness: greedy, top-k <= 256 (ties at the k-th logit kept, as HF does)
// and full-vocab sampling (top_k 0, top_p 1: Gumbel-max over every token) are
// exact. Top-p without top-k is exact when the nucleus has at most 256
// tokens; a larger nucleus, or 256 < top_k < vocab, is cut to the 256 most
// likely tokens. Ties at the top-p boundary keep lower ids (HF's order there
// depends on torch's unstable sort). NaN logits count as -inf.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ops/policy.h"
#include "engine/ops/sampling_params.h"
#include "engine/ops/view.h"
#include "engine/vk/buffer.h"
#include "engine/vk/command_stream.h"
#include "shaders/params/sampling.h"

namespace vkinfer::ops {



// Device buffers of one rank's sampler, created once at load time for up to
// `rows` sequences so that the request path allocates nothing.
struct SamplerBuffers {
  int64_t rows = 0;
  int64_t vocab_global = 0;
  uint32_t seen_words = 0;       // ceil(vocab_global / 32)
  vk::Buffer candidates;         // [rows, C] SampleCandidate, C <= 256 (row stride C)
  vk::Buffer stats;              // [rows] SampleStats
  vk::Buffer seen;               // [rows, seen_words] uint32 bitmap of global ids
  vk::Buffer seen_staging;       // [rows, seen_words] host-visible, for seed_seen_bitmap
  vk::Buffer out_ids;            // [rows] uint32, host-visible
  vk::Buffer final_candidates;   // [rows, C] FinalCandidate, host-visible
  // The logprob pass's results (sample_logprobs), host-visible: each row's
  // top-N raw logits of this rank's slice (row stride N' = max(N, 1)) and the
  // raw row's (max, sum exp) with the chosen id's logit.
  vk::Buffer logprob_candidates;  // [rows, N'] SampleCandidate, N' <= SAMPLING_MAX_LOGPROBS
  vk::Buffer logprob_stats;       // [rows] SampleStats (gumbel fields: the chosen id, its logit)

  static SamplerBuffers create(vk::Device& device, int64_t rows, int64_t vocab_global);

  // Records, into `stream`, setting row b's bitmap to exactly the ids in
  // ids_per_row[b] (the prompt); rows past ids_per_row.size() are cleared.
  // Throws kInvalidArgument for an id outside [0, vocab_global).
  void seed_seen_bitmap(vk::CommandStream& stream,
                        const std::vector<std::vector<int32_t>>& ids_per_row);

  // After the stream finished: the chosen id of each of the first `rows` rows.
  std::vector<uint32_t> read_ids(int64_t rows) const;
  // After the stream finished: row b's merged top-C with the probability each
  // was drawn with (0 = filtered out by top-k/top-p), best first.
  std::vector<params::FinalCandidate> read_final(int64_t row, uint32_t candidates) const;
};

// logits: [rows, vocab_valid (+ padding)] of this rank; column 0 is global id
// vocab_offset. `step` keys the RNG together with the seed and the row.
void sample_candidates(vk::CommandStream& stream, View logits, int64_t rows,
                       int64_t vocab_offset, int64_t vocab_valid, const SamplingParams& params,
                       uint32_t step, SamplerBuffers& buffers, const ReducePolicy& policy);

// all_candidates: [ranks][rows][C] SampleCandidate; all_stats: [ranks][rows]
// SampleStats (C = candidate_count(params, buffers.vocab_global)). Writes
// buffers.out_ids and final_candidates and marks the ids in buffers.seen.
void sample_finish(vk::CommandStream& stream, const vk::Buffer& all_candidates,
                   const vk::Buffer& all_stats, int ranks, int64_t rows,
                   const SamplingParams& params, uint32_t step, SamplerBuffers& buffers,
                   const ReducePolicy& policy);

// One device: the whole vocab, [rows, vocab_global (+ padding)].
void sample(vk::CommandStream& stream, View logits, int64_t rows, const SamplingParams& params,
            uint32_t step, SamplerBuffers& buffers, const ReducePolicy& policy);

// Log-probabilities of the sampled tokens, for requests that ask for them
// (others never run it, so they pay nothing). Recorded after sample_finish
// (or sample) on the same logits and buffers: one dispatch of the candidates
// kernel and pipeline over this rank's raw slice, without penalty or
// temperature, keeping its top_n (0..20) and reporting the raw logit of the
// id in buffers.out_ids. Each rank's result is N' candidates and one stats
// record, so tensor-parallel ranks exchange those, never logits.
void sample_logprobs(vk::CommandStream& stream, View logits, int64_t rows, int64_t vocab_offset,
                     int64_t vocab_valid, int top_n, SamplerBuffers& buffers,
                     const ReducePolicy& policy);
// N': the candidates each rank's logprob pass keeps per row (max(top_n, 1)).
uint32_t logprob_slots(int top_n);

// On the host, after the stream finished: the ranks' logprob-pass results of
// one row ([ranks][N'] candidates and [ranks] stats, rank-major) merged into
// the token's: log-sum-exp over the ranks' (max, sum exp) in double, the
// global top_n by (logit descending, id ascending), and the chosen id's
// logit from the rank whose slice holds it.
TokenLogprobs merge_logprobs(const params::SampleCandidate* candidates,
                             const params::SampleStats* stats, int ranks, int top_n);

}  // namespace vkinfer::ops
