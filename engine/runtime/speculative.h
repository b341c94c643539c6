// Speculative decoding, batch 1 (NxD's draft-and-verify): a small draft
// model proposes K tokens one at a time, the target scores all of them in
// one forward of K + 1 rows, and the standard lossless rule keeps a prefix:
// greedy keeps each draft token that equals the target's argmax; sampling
// keeps token d with probability min(1, p(d) / q(d)), replaces the first
// rejected one by a sample of norm(max(0, p - q)), and adds a bonus token
// from the target when all K are kept. So the output follows the target's
// own distribution (greedy: exactly the target's greedy tokens). Rejected
// positions are cut from both KV caches (KvCache::truncate).
//
// The decisions are made on the host from full-vocabulary probabilities
// (each rank gathers the target's vocabulary slices), with one seeded RNG
// per request, so every rank of a tp target makes the same ones.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "engine/runtime/generator.h"

namespace vkinfer {

struct SpeculativeStats {
  int64_t target_forwards = 0;  // verification forwards (the prompt's prefill not counted)
  int64_t draft_forwards = 0;
  int64_t proposed = 0;         // draft tokens offered
  int64_t accepted = 0;         // draft tokens kept
  int64_t emitted = 0;          // tokens the verification forwards produced
  double acceptance_rate() const { return proposed ? double(accepted) / proposed : 0.0; }
  double tokens_per_target_forward() const { return target_forwards ? double(emitted) / target_forwards : 0.0; }
};

// The distribution a token is drawn from: softmax(logits / temperature),
// restricted to the top_k most likely, then to the smallest set whose mass
// reaches top_p (as transformers' warpers, in that order), renormalized.
// Greedy: all mass on the first largest logit.
std::vector<float> token_distribution(const float* logits, int64_t vocab, const ops::SamplingParams& params);

// Draws from a distribution (inverse CDF on one uniform number).
int32_t draw(const std::vector<float>& probs, std::mt19937_64& rng);

struct Verdict {
  int64_t accepted = 0;  // leading draft tokens kept
  int32_t next = -1;     // the token after them: the correction, or the bonus when all were kept
};
// The lossless rule. `target[i]` is the target's distribution after the
// context plus drafts[0..i) (K + 1 of them), `draft[i]` the draft's
// distribution that drafts[i] was drawn from (K of them).
Verdict verify_drafts(const std::vector<std::vector<float>>& target, const std::vector<int32_t>& drafts,
                      const std::vector<std::vector<float>>& draft, bool greedy, std::mt19937_64& rng);

class SpeculativeGenerator {
 public:
  // Both engines are loaded with one KV slot; the target's decoder keeps
  // every row's logits (DecoderLimits::all_logits) and takes K + 1 rows per
  // step. Throws kInvalidArgument when the vocabularies differ or K < 1.
  SpeculativeGenerator(Engine& target, Engine& draft, int64_t draft_tokens,
                       const Tokenizer* tokenizer = nullptr);

  // One prompt; the same options as Generator (a repetition penalty is
  // refused: the draft-and-verify rule here covers temperature, top-k and
  // top-p). Every rank of the target's tp group calls it.
  GenerateResult run(const std::vector<int32_t>& prompt, const GenerateOptions& options,
                     const TokenCallback& on_token = {}, SpeculativeStats* stats = nullptr);

 private:
  // Feeds `ids` to `engine`'s slot and returns the full-vocabulary logits of
  // its last `rows_wanted` rows (all ranks' slices), in row order.
  std::vector<std::vector<float>> forward(Engine& engine, vk::CommandStream& stream, int slot,
                                          const std::vector<int32_t>& ids, int64_t rows_wanted);
  Engine& target_;
  Engine& draft_;
  int64_t draft_tokens_;
  const Tokenizer* tokenizer_;
};

}  // namespace vkinfer
