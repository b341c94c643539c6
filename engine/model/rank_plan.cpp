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

}  // namespace vkinfer
