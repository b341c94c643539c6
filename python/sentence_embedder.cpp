// SentenceEmbedder: load_encoder with the folder's pooling head on one
// device, then embed_on_rank as a grid of one rank.
#include "python/sentence_embedder.h"

#include "engine/core/error.h"
#include "engine/model/encoder_load.h"

namespace vkinfer::python {

SentenceEmbedder::SentenceEmbedder(const std::filesystem::path& dir, DType dtype, int64_t batch,
                                   std::vector<int64_t> buckets, int device)
    : config_(load_sentence_config(dir)), batch_(batch) {
  if (batch < 1) fail(ErrorCode::kInvalidArgument, "batch must be >= 1 (got {})", batch);
  if (device < 0) fail(ErrorCode::kInvalidArgument, "device must be >= 0 (got {})", device);
  tokenizer_ = Tokenizer::load(config_.model_dir);
  const EncoderLimits limits{batch, embedding_buckets(config_, std::move(buckets))};
  instance_ = vk::Instance::create();
  device_ = vk::Device::create(*instance_, static_cast<uint32_t>(device));
  comm_ = make_single_communicator();
  encoder_ = load_encoder(config_.model_dir, *device_, *comm_, dtype, limits, embedding_head(config_));
  stream_ = std::make_unique<vk::CommandStream>(*device_);
  encoder_->warm_up(*stream_);
}

SentenceEmbedder::~SentenceEmbedder() {
  stream_.reset();
  encoder_.reset();
}

std::vector<Embedding> SentenceEmbedder::embed(const std::vector<std::string>& texts) {
  if (texts.empty()) fail(ErrorCode::kInvalidArgument, "encode() needs at least one text");
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<EncoderInput> inputs;
  for (const auto& text : texts) inputs.push_back(tokenize_for_embedding(*tokenizer_, config_, text));
  return embed_on_rank(*encoder_, *stream_, *comm_, 0, inputs, batch_);
}

}  // namespace vkinfer::python
