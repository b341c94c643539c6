// From a Hugging Face BERT folder (BertForSequenceClassification, or a
// BertModel for sentence embeddings) to a ready rank-local Encoder: config, bucket list, memory plan against the device
// heap, this rank's weight slices, per-bucket buffers and pipelines.
#pragma once

#include <filesystem>
#include <memory>

#include "engine/model/encoder.h"

namespace vkinfer {

// Powers of two from 128 up to max_positions, plus max_positions itself
// when it is not one. Models with fewer than 128 positions get one bucket of
// max_positions.
std::vector<int64_t> default_buckets(int64_t max_positions);

// Sorts and de-duplicates `buckets`; kInvalidArgument (naming the flag) for
// one outside [1, max_positions].
std::vector<int64_t> check_buckets(std::vector<int64_t> buckets, int64_t max_positions);

struct EncoderMemoryPlan {
  uint64_t weight_bytes = 0;
  uint64_t runtime_bytes = 0;     // activations + inputs over every bucket
  uint64_t largest_buffer = 0;    // the biggest single activation buffer
  uint64_t heap_bytes = 0;
  uint64_t total() const { return weight_bytes + runtime_bytes; }
};

EncoderMemoryPlan plan_encoder_memory(const BertConfig& config, const RankShape& shape,
                                      const EncoderLimits& limits, DType dtype,
                                      uint64_t heap_bytes, const EncoderHead& head = {});

// Empty limits.buckets means default_buckets(). Throws kOutOfMemory (with
// needed vs available) before allocating anything when a rank's share does
// not fit. Call warm_up() with the stream that will serve requests (its
// descriptor pools are per stream) before the first request. `head`:
// classification (the default; needs the pooler and classifier) or sentence
// embeddings (reads neither).
std::unique_ptr<Encoder> load_encoder(const std::filesystem::path& dir, vk::Device& device,
                                      Communicator& comm, DType dtype, EncoderLimits limits,
                                      const EncoderHead& head = {});

}  // namespace vkinfer
