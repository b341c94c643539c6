// What vkinfer.CausalLM does, in C++ terms and without Python types: the
// engine's own generate (Generator: scheduler, GPU sampler, eos), and a
// step-level forward over chosen KV-cache slots that hands logits back,
// for callers that run their own decoding loop (the transformers adapter).
// forward() and generate() share the cache: forward() holds every slot
// (slot i is whatever the caller says it is), generate() takes them back
// and starts from empty slots. Every request is checked here, on the
// caller's thread, before any rank sees it.
#pragma once

#include <vector>

#include "engine/runtime/generator.h"
#include "python/model_session.h"

namespace vkinfer::python {

class CausalLM {
 public:
  explicit CausalLM(const SessionOptions& options);

  // The engine's generate on rank 0's view (every rank runs it). Resets
  // the forward() slots.
  std::vector<SequenceResult> generate(const std::vector<std::vector<int32_t>>& prompts,
                                       const GenerateOptions& options);

  // Feeds ids[i] to slot slots[i], its first id at position starts[i]
  // (the slot is rewound there; -1: after what it holds). Returns the
  // logits, [sum of lengths, vocab] with all_logits (each row's ids in
  // turn), else [rows, vocab] of each row's last id. Inputs longer than
  // max_prefill_rows run in several forwards. rope_length > 0: the length
  // every row's dynamic rope_scaling follows (transformers' batched forward
  // takes the longest position of the whole batch); 0: each row's own.
  std::vector<float> forward(const std::vector<std::vector<int32_t>>& ids, const std::vector<int>& slots,
                             const std::vector<int64_t>& starts, bool all_logits, int64_t rope_length = 0);
  // dst[i] becomes a copy of src[i] (keys, values, length). No dst may be
  // a src, and each dst appears once, so the copies do not depend on order.
  void copy_slots(const std::vector<int>& src, const std::vector<int>& dst);
  // Forgets every slot's positions.
  void reset();
  int64_t length(int slot) const;

  const DecoderConfig& config() const { return session_.config(); }
  int64_t slots() const { return session_.limits().batch; }
  int64_t ctx() const { return session_.limits().ctx; }
  int64_t max_prefill_rows() const { return session_.limits().max_rows_per_seq; }
  int tp() const { return session_.tp(); }

 private:
  void check_slot(int slot, const char* what) const;

  ModelSession session_;
  bool holding_ = false;          // the ranks' caches hold every slot for forward()
  std::vector<int64_t> lengths_;  // each slot's cached positions, as the ranks' caches say
};

}  // namespace vkinfer::python
