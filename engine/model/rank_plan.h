// A model family's heads, MLP width and vocabulary handed to the generic
// Megatron split (engine/parallel/plan.h): what this rank owns.
#pragma once

#include "engine/model/config.h"
#include "engine/parallel/plan.h"

namespace vkinfer {

RankShape plan_decoder(const DecoderConfig& config, TpConfig tp);
RankShape plan_encoder(const BertConfig& config, TpConfig tp);

}  // namespace vkinfer
