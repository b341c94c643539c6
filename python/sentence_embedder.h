// What vkinfer.Embedder runs: sentence embeddings as sentence-transformers'
// encode() computes them (engine/runtime/embedder.h), from one encoder on
// one device, loaded once and kept. The CLI's `embed` runs a dp x tp grid
// inside one run_ranks() call; from Python one replica serves every call,
// on the caller's thread (so no rank threads to keep alive).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/model/encoder.h"
#include "engine/model/sentence_config.h"
#include "engine/parallel/communicator.h"
#include "engine/runtime/embedder.h"
#include "engine/text/tokenizer.h"
#include "engine/vk/command_stream.h"
#include "engine/vk/device.h"
#include "engine/vk/instance.h"

namespace vkinfer::python {

class SentenceEmbedder {
 public:
  // batch: texts of similar length per forward; buckets: padded lengths
  // (empty: embedding_buckets' default).
  SentenceEmbedder(const std::filesystem::path& dir, DType dtype, int64_t batch, std::vector<int64_t> buckets,
                   int device);
  ~SentenceEmbedder();

  // One vector per text, in order.
  std::vector<Embedding> embed(const std::vector<std::string>& texts);
  const SentenceConfig& config() const { return config_; }

 private:
  SentenceConfig config_;
  int64_t batch_ = 1;
  std::mutex mutex_;  // callers on several threads take turns on the one stream
  std::unique_ptr<Tokenizer> tokenizer_;
  // Destroyed in reverse: the stream and encoder before their device.
  std::unique_ptr<vk::Instance> instance_;
  std::unique_ptr<vk::Device> device_;
  std::unique_ptr<Communicator> comm_;
  std::unique_ptr<Encoder> encoder_;
  std::unique_ptr<vk::CommandStream> stream_;
};

}  // namespace vkinfer::python
