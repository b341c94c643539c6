// The BERT encoder graph for sequence classification, rank-local like the
// decoder: it holds this rank's heads, MLP columns and vocabulary slice and
// calls the Communicator after the word embedding and after each row-parallel
// layer (no-ops at world == 1), so tensor parallelism needs no other code.
//
// Inputs are padded to one of a few fixed sequence lengths (buckets). Every
// bucket owns its activation buffers, input staging and logit read-back,
// made at load time; warm_up() runs each bucket once so that every pipeline
// and descriptor pool exists before the first request. A request uploads ids,
// runs embedding -> layers -> pooler -> classifier on the device and reads
// back only the logits.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/model/encoder_weights.h"
#include "engine/ops/policy.h"
#include "engine/vk/command_stream.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/device_collectives.h"

namespace vkinfer {

struct EncoderLimits {
  int64_t batch = 1;             // sequences per forward
  std::vector<int64_t> buckets;  // padded sequence lengths, ascending
};

// One sequence: token ids with [CLS]/[SEP] already in place, and their token
// type ids (empty = all 0).
struct EncoderInput {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
};

// Bytes of activations, inputs and read-back over every bucket of one rank.
uint64_t encoder_runtime_bytes(const BertConfig& config, const RankShape& shape,
                               const EncoderLimits& limits);
// Bytes of the largest single activation buffer (checked against
// maxStorageBufferRange before anything is allocated).
uint64_t encoder_largest_buffer_bytes(const BertConfig& config, const RankShape& shape,
                                      const EncoderLimits& limits);

class Encoder {
 public:
  Encoder(vk::Device& device, Communicator& comm, const BertConfig& config, RankShape shape,
          EncoderWeights weights, EncoderLimits limits);
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // The smallest bucket that holds `length` tokens; nullopt when none does.
  std::optional<size_t> bucket_for(int64_t length) const;
  int64_t bucket_length(size_t bucket) const { return limits_.buckets.at(bucket); }

  // Runs every bucket with every sequence count that picks a different
  // kernel, so that a request creates no pipeline and no descriptor pool.
  // The constructor already built every pipeline (prepare_pipelines); a
  // caller runs this on its own stream to grow that stream's descriptor pools.
  void warm_up(vk::CommandStream& stream);

  // Classifies up to `batch` sequences padded to `bucket`; returns their
  // logits row-major [inputs.size(), num_labels]. Throws kInvalidArgument for
  // an id outside the vocabulary or a sequence longer than the bucket.
  std::vector<float> classify(vk::CommandStream& stream, size_t bucket,
                              const std::vector<const EncoderInput*>& inputs);

  const BertConfig& config() const { return config_; }
  const RankShape& shape() const { return shape_; }
  const EncoderLimits& limits() const { return limits_; }
  vk::Device& device() const { return device_; }
  uint64_t weight_bytes() const { return weights_.device_bytes(); }

 private:
  struct Bucket;
  // Kernel choices that depend on the row count, for `count` sequences in
  // `bucket`: equal keys dispatch the same pipelines.
  std::vector<uint32_t> row_class(size_t bucket, int64_t count) const;
  // Runs one classify per row class at load, then seals the device.
  void prepare_pipelines();
  void upload_inputs(vk::CommandStream& stream, Bucket& b,
                     const std::vector<const EncoderInput*>& inputs);
  void forward(vk::CommandStream& stream, Bucket& b, int64_t count);
  void layer(vk::CommandStream& stream, Bucket& b, size_t index, int64_t count);

  vk::Device& device_;
  Communicator& comm_;
  BertConfig config_;
  RankShape shape_;
  EncoderWeights weights_;
  EncoderLimits limits_;
  ops::KernelPolicy policy_;
  DeviceCollectives collectives_;  // all-reduces over comm_, staging planned at load
  std::vector<Bucket> buckets_;
  vk::Buffer scores_;  // attention scores scratch shared by the buckets; may be empty
};

}  // namespace vkinfer
