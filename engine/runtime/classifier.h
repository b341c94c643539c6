// Sequence classification as a service over one or more encoder replicas:
// tokenizes (with HF truncation when asked), groups inputs of similar length
// into batches padded to the smallest bucket that holds them, spreads the
// batches over data-parallel replicas (one logical Vulkan device and thread
// each) and returns one result per input, in input order.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/model/encoder.h"
#include "engine/vk/device.h"

namespace vkinfer {

namespace vk {
class Instance;
}
class Tokenizer;

struct ClassifierOptions {
  DType dtype = DType::kF32;
  std::vector<int64_t> buckets;  // padded lengths; empty = default_buckets()
  int64_t batch = 1;             // sequences per forward
  bool truncate = false;         // cut over-long text like HF truncation=True
  std::vector<int> devices = {0};  // physical device index of each replica (--dp = size)
  vk::DeviceOptions device_options;  // the pipeline cache every replica's device uses
};

struct Classification {
  int64_t label = 0;           // argmax of the logits (first on ties, as torch)
  std::string label_name;      // config.json id2label
  std::vector<float> logits;   // [num_labels]
  std::vector<float> probs;    // softmax(logits)
  int64_t bucket = 0;          // padded length it ran at
  int64_t tokens = 0;          // real length, special tokens included
};

// Called after each batch with (inputs done, inputs total), from any replica
// thread but never concurrently.
using ClassifyProgress = std::function<void(size_t done, size_t total)>;

class Classifier {
 public:
  // Loads one replica per options.devices entry (plans memory, uploads
  // weights, warms every bucket up).
  static std::unique_ptr<Classifier> load(vk::Instance& instance, const std::filesystem::path& dir,
                                          const ClassifierOptions& options);
  ~Classifier();

  // [CLS] text [SEP] (pair [SEP]) with token types. Longer than the largest
  // bucket: truncated as HF does with options.truncate, else kInvalidArgument.
  // Loads the folder's tokenizer on first use.
  EncoderInput tokenize(const std::string& text, const std::optional<std::string>& pair) const;
  const Tokenizer& tokenizer() const;

  // One result per input, in input order. kInvalidArgument for an input
  // longer than the largest bucket (ids are never truncated) or a bad id.
  std::vector<Classification> classify(const std::vector<EncoderInput>& inputs,
                                       const ClassifyProgress& progress = {});

  const BertConfig& config() const;
  const std::vector<int64_t>& buckets() const;
  int64_t max_length() const { return buckets().back(); }
  size_t replicas() const { return replicas_.size(); }

 private:
  struct Replica;
  Classifier() = default;
  std::filesystem::path dir_;
  ClassifierOptions options_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  mutable std::unique_ptr<Tokenizer> tokenizer_;
};

// The tokenizer's encoding with special tokens, truncated to `max_length`
// (special tokens included; 0 = no limit) as HF truncation=True does.
struct Encoding;
Encoding encode_truncated(const Tokenizer& tokenizer, const std::string& text,
                          const std::optional<std::string>& pair, int max_length);

// Softmax, label and name for one row of logits.
Classification make_classification(const BertConfig& config, const float* logits);

}  // namespace vkinfer
