#include "engine/model/rank_plan.h"

namespace vkinfer {

RankShape plan_decoder(const DecoderConfig& config, TpConfig tp) {
  return plan_rank(config.num_heads, config.num_kv_heads, config.intermediate_size,
                   config.vocab_size, tp);
}

RankShape plan_encoder(const BertConfig& config, TpConfig tp) {
  // BERT's classifier head is tiny and replicated; the word embedding is
  // vocab-parallel like a decoder's.
  return plan_rank(config.num_heads, config.num_heads, config.intermediate_size,
                   config.vocab_size, tp);
}

SplitRanges split_ranges(const RankShape& s, TpConfig tp) {
  SplitRanges ranges;
  ranges.query_heads = {s.head_begin, s.heads};
  ranges.kv_heads = {s.kv_head_begin, s.kv_heads};
  ranges.intermediate = {s.intermediate_begin, s.intermediate};
  ranges.vocab = {s.vocab_begin, s.vocab_valid};
  ranges.vocab_padding = s.vocab_local - s.vocab_valid;
  ranges.holds_row_bias = tp.rank == 0;
  return ranges;
}

}  // namespace vkinfer
