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
#include "engine/parallel/communicator.h"
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

// [CLS] text [SEP] (pair [SEP]) with token types, for an encoder whose
// largest bucket is `max_length`: truncated as HF does when `truncate`, else
// kInvalidArgument when longer.
EncoderInput tokenize_for_encoder(const Tokenizer& tokenizer, const std::string& text,
                                  const std::optional<std::string>& pair, int64_t max_length,
                                  bool truncate);

// Softmax, label and name for one row of logits.
Classification make_classification(const BertConfig& config, const float* logits);

// Inputs of one forward: indices into the request, all padded to `bucket`.
struct ClassifyGroup {
  size_t bucket = 0;
  std::vector<size_t> members;
};
// The forwards of a request: inputs sorted by length, at most `batch` per
// forward, never two buckets in one. kInvalidArgument for an empty input or
// one longer than the largest bucket.
std::vector<ClassifyGroup> plan_classify_groups(const Encoder& encoder,
                                                const std::vector<EncoderInput>& inputs, int64_t batch);

// One rank of a dp x tp grid of encoder replicas, run inside run_ranks (as
// threads or MPI processes): `encoder` is this rank's tp slice (it
// all-reduces over its tp group), `dp` joins the ranks of the same tp_rank
// across replicas. Every rank of a replica runs the same forwards; replica r
// takes forwards r, r + dp, ...; the logits are then summed over `dp` (each
// input is written by one replica only), so every rank returns every
// result, in input order.
std::vector<Classification> classify_on_rank(Encoder& encoder, vk::CommandStream& stream,
                                             Communicator& dp, int replica,
                                             const std::vector<EncoderInput>& inputs, int64_t batch);

}  // namespace vkinfer
