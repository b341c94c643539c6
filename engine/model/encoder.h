// The BERT encoder graph for sequence classification or sentence embeddings,
// rank-local like the decoder: it holds this rank's heads, MLP columns and vocabulary slice and
// calls the Communicator after the word embedding and after each row-parallel
// layer (no-ops at world == 1), so tensor parallelism needs no other code.
//
// Inputs are padded to one of a few fixed sequence lengths (buckets). Every
// bucket owns its activation buffers, input staging and logit read-back,
// made at load time; warm_up() runs each bucket once so that every pipeline
// and descriptor pool exists before the first request. A request uploads ids,
// runs embedding -> layers -> head on the device and reads back only the
// head's output: pooler -> classifier logits, or (sentence embeddings) the
// last hidden states pooled over each sequence's real tokens and optionally
// L2-normalized. The head is chosen at load: only its buffers and pipelines
// exist. Under tensor parallelism the hidden states after the last layer's
// all-reduce are whole on every rank, so every rank pools the same vectors.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/model/encoder_weights.h"
#include "engine/ops/policy.h"
#include "engine/vk/command_stream.h"
#include "engine/parallel/communicator.h"
#include "engine/parallel/device_collectives.h"
#include "engine/ops/pooling.h"

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

// What the encoder computes after its last layer.
struct EncoderHead {
  // POOL_* bits (ops/pooling.h) for sentence embeddings, their
  // vectors concatenated in bit order; 0 = classification.
  uint32_t pooling = 0;
  bool normalize = false;  // embeddings: L2-normalize each (eps 1e-12)
  bool embeds() const { return pooling != 0; }
};

// Floats of one input's output: num_labels, or the pooled width.
int64_t encoder_output_width(const BertConfig& config, const EncoderHead& head);

// Bytes of activations, inputs and read-back over every bucket of one rank.
uint64_t encoder_runtime_bytes(const BertConfig& config, const RankShape& shape,
                               const EncoderLimits& limits, const EncoderHead& head = {});
// Bytes of the largest single activation buffer (checked against
// maxStorageBufferRange before anything is allocated).
uint64_t encoder_largest_buffer_bytes(const BertConfig& config, const RankShape& shape,
                                      const EncoderLimits& limits);

class Encoder {
 public:
  Encoder(vk::Device& device, Communicator& comm, const BertConfig& config, RankShape shape,
          EncoderWeights weights, EncoderLimits limits, EncoderHead head = {});
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

  // Sentence embeddings of up to `batch` sequences padded to `bucket`:
  // row-major [inputs.size(), output_width()]. Same errors as classify();
  // kInternal when the encoder was loaded for classification (and classify()
  // when loaded for embeddings).
  std::vector<float> embed(vk::CommandStream& stream, size_t bucket,
                           const std::vector<const EncoderInput*>& inputs);

  const BertConfig& config() const { return config_; }
  const RankShape& shape() const { return shape_; }
  const EncoderLimits& limits() const { return limits_; }
  const EncoderHead& head() const { return head_; }
  int64_t output_width() const { return encoder_output_width(config_, head_); }
  vk::Device& device() const { return device_; }
  uint64_t weight_bytes() const { return weights_.device_bytes(); }

 private:
  struct Bucket;
  // Kernel choices that depend on the row count, for `count` sequences in
  // `bucket`: equal keys dispatch the same pipelines.
  std::vector<uint32_t> row_class(size_t bucket, int64_t count) const;
  // Runs one forward per row class at load, then seals the device.
  void prepare_pipelines();
  // Upload, forward and read-back of the head's output.
  std::vector<float> run(vk::CommandStream& stream, size_t bucket,
                         const std::vector<const EncoderInput*>& inputs);
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
  EncoderHead head_;
  ops::KernelPolicy policy_;
  DeviceCollectives collectives_;  // all-reduces over comm_, staging planned at load
  std::vector<Bucket> buckets_;
  vk::Buffer scores_;  // attention scores scratch shared by the buckets; may be empty
};

}  // namespace vkinfer
