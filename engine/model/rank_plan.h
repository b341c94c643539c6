// A model family's heads, MLP width and vocabulary handed to the generic
// Megatron split (engine/parallel/plan.h): what this rank owns, and that
// share as the ranges a tensor plan slices by (engine/weights/tensor_plan.h).
#pragma once

#include "engine/model/config.h"
#include "engine/parallel/plan.h"
#include "engine/weights/tensor_plan.h"

namespace vkinfer {

RankShape plan_decoder(const DecoderConfig& config, TpConfig tp);
RankShape plan_encoder(const BertConfig& config, TpConfig tp);

// The rank's share of each dimension, for the tensor plans' slices.
SplitRanges split_ranges(const RankShape& shape, TpConfig tp);

}  // namespace vkinfer
