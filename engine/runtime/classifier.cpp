#include "engine/runtime/classifier.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "engine/core/error.h"
#include "engine/model/encoder_load.h"
#include "engine/text/tokenizer.h"
#include "engine/vk/device.h"
#include "engine/vk/instance.h"

namespace vkinfer {

// One data-parallel replica. Member order is destruction order reversed:
// the device outlives everything made on it.
struct Classifier::Replica {
  std::unique_ptr<vk::Device> device;
  std::unique_ptr<Communicator> comm;
  std::unique_ptr<Encoder> encoder;
  std::unique_ptr<vk::CommandStream> stream;
};

namespace {

}  // namespace

// Sorted by length so each batch holds inputs of similar length; a batch
// never spans two buckets, so short inputs are not padded to a long bucket.
std::vector<ClassifyGroup> plan_classify_groups(const Encoder& encoder,
                                                const std::vector<EncoderInput>& inputs, int64_t batch) {
  std::vector<size_t> order(inputs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return inputs[a].ids.size() < inputs[b].ids.size();
  });
  std::vector<ClassifyGroup> groups;
  for (size_t index : order) {
    const int64_t length = static_cast<int64_t>(inputs[index].ids.size());
    if (length < 1)
      fail(ErrorCode::kInvalidArgument, "input {} has no tokens", index + 1);
    const std::optional<size_t> bucket = encoder.bucket_for(length);
    if (!bucket)
      fail(ErrorCode::kInvalidArgument,
           "input {} has {} tokens, more than the largest bucket ({}). HINT: pass --truncate "
           "(text inputs) or add a larger bucket to --buckets (at most max_position_embeddings)",
           index + 1, length, encoder.limits().buckets.back());
    if (groups.empty() || groups.back().bucket != *bucket ||
        static_cast<int64_t>(groups.back().members.size()) == batch)
      groups.push_back({*bucket, {}});
    groups.back().members.push_back(index);
  }
  return groups;
}


Classification make_classification(const BertConfig& config, const float* logits) {
  Classification result;
  result.logits.assign(logits, logits + config.num_labels);
  const float top = *std::max_element(result.logits.begin(), result.logits.end());
  double sum = 0;
  for (float v : result.logits) sum += std::exp(double(v) - top);
  for (float v : result.logits) result.probs.push_back(static_cast<float>(std::exp(double(v) - top) / sum));
  result.label = std::max_element(result.logits.begin(), result.logits.end()) - result.logits.begin();
  result.label_name = config.id2label.at(result.label);
  return result;
}

std::unique_ptr<Classifier> Classifier::load(vk::Instance& instance, const std::filesystem::path& dir,
                                             const ClassifierOptions& options) {
  if (options.devices.empty())
    fail(ErrorCode::kInvalidArgument, "--dp must be at least 1");
  std::unique_ptr<Classifier> classifier(new Classifier());
  classifier->dir_ = dir;
  classifier->options_ = options;
  const auto& physical = instance.physical_devices();
  for (int index : options.devices) {
    if (index < 0 || static_cast<size_t>(index) >= physical.size())
      fail(ErrorCode::kNoDevice, "--devices: device {} does not exist ({} Vulkan device(s)). "
           "HINT: run `vkinfer devices`", index, physical.size());
    auto replica = std::make_unique<Replica>();
    replica->device = vk::Device::create(instance, static_cast<uint32_t>(index), options.device_options);
    replica->comm = make_single_communicator();
    replica->encoder = load_encoder(dir, *replica->device, *replica->comm, options.dtype,
                                    {options.batch, options.buckets});
    replica->stream = std::make_unique<vk::CommandStream>(*replica->device);
    replica->encoder->warm_up(*replica->stream);
    classifier->replicas_.push_back(std::move(replica));
  }
  return classifier;
}

Classifier::~Classifier() = default;

const BertConfig& Classifier::config() const { return replicas_.front()->encoder->config(); }

const std::vector<int64_t>& Classifier::buckets() const {
  return replicas_.front()->encoder->limits().buckets;
}

const Tokenizer& Classifier::tokenizer() const {
  if (!tokenizer_) tokenizer_ = Tokenizer::load(dir_);
  return *tokenizer_;
}

Encoding encode_truncated(const Tokenizer& tokenizer, const std::string& text,
                          const std::optional<std::string>& pair, int max_length) {
  if (pair) return tokenizer.encode_pair(text, *pair, true, max_length);
  Encoding encoding = tokenizer.encode(text, true);
  if (max_length <= 0 || static_cast<int>(encoding.ids.size()) <= max_length) return encoding;
  // HF truncates the text, then adds the template's special tokens: keep the
  // prefix and suffix the template put around the bare tokens.
  const Encoding bare = tokenizer.encode(text, false);
  const size_t specials = encoding.ids.size() - bare.ids.size();
  if (static_cast<size_t>(max_length) < specials)
    fail(ErrorCode::kInvalidArgument, "cannot truncate to {} tokens: the template alone adds {}",
         max_length, specials);
  size_t prefix = 0;
  while (prefix < specials && encoding.ids[prefix] != bare.ids.front()) ++prefix;
  const size_t suffix = specials - prefix;
  const size_t keep = static_cast<size_t>(max_length) - specials;
  auto cut = [&](auto& all) {
    auto tail = std::vector<typename std::decay_t<decltype(all)>::value_type>(all.end() - suffix, all.end());
    all.resize(prefix + keep);
    all.insert(all.end(), tail.begin(), tail.end());
  };
  cut(encoding.ids);
  cut(encoding.type_ids);
  cut(encoding.tokens);
  return encoding;
}

EncoderInput Classifier::tokenize(const std::string& text, const std::optional<std::string>& pair) const {
  return tokenize_for_encoder(tokenizer(), text, pair, max_length(), options_.truncate);
}

EncoderInput tokenize_for_encoder(const Tokenizer& tokenizer, const std::string& text,
                                  const std::optional<std::string>& pair, int64_t max_length,
                                  bool truncate) {
  const int max = static_cast<int>(max_length);
  Encoding encoding = encode_truncated(tokenizer, text, pair, truncate ? max : 0);
  if (static_cast<int>(encoding.ids.size()) > max)
    fail(ErrorCode::kInvalidArgument,
         "the input has {} tokens, more than the largest bucket ({}). HINT: pass --truncate to "
         "cut it as Hugging Face does, or add a larger bucket to --buckets", encoding.ids.size(), max);
  return {std::move(encoding.ids), std::move(encoding.type_ids)};
}

std::vector<Classification> Classifier::classify(const std::vector<EncoderInput>& inputs,
                                                 const ClassifyProgress& progress) {
  const Encoder& first = *replicas_.front()->encoder;
  const std::vector<ClassifyGroup> groups = plan_classify_groups(first, inputs, options_.batch);
  std::vector<Classification> results(inputs.size());
  std::atomic<size_t> next{0};
  std::mutex progress_mutex;
  size_t done = 0;
  std::exception_ptr failure;
  std::atomic<bool> failed{false};

  auto work = [&](Replica& replica) {
    try {
      const int64_t labels = replica.encoder->config().num_labels;
      for (size_t g = next++; g < groups.size() && !failed; g = next++) {
        const ClassifyGroup& group = groups[g];
        std::vector<const EncoderInput*> batch;
        for (size_t index : group.members) batch.push_back(&inputs[index]);
        const std::vector<float> logits = replica.encoder->classify(*replica.stream, group.bucket, batch);
        for (size_t i = 0; i < group.members.size(); ++i) {
          Classification& out = results[group.members[i]];
          out = make_classification(replica.encoder->config(), logits.data() + i * labels);
          out.bucket = replica.encoder->bucket_length(group.bucket);
          out.tokens = static_cast<int64_t>(batch[i]->ids.size());
        }
        std::lock_guard<std::mutex> lock(progress_mutex);
        done += group.members.size();
        if (progress) progress(done, inputs.size());
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      if (!failure) failure = std::current_exception();
      failed = true;
    }
  };

  if (replicas_.size() == 1) {
    work(*replicas_.front());
  } else {
    std::vector<std::thread> threads;
    for (auto& replica : replicas_) threads.emplace_back(work, std::ref(*replica));
    for (auto& thread : threads) thread.join();
  }
  if (failure) std::rethrow_exception(failure);
  return results;
}

std::vector<Classification> classify_on_rank(Encoder& encoder, vk::CommandStream& stream,
                                             Communicator& dp, int replica,
                                             const std::vector<EncoderInput>& inputs, int64_t batch) {
  const std::vector<ClassifyGroup> groups = plan_classify_groups(encoder, inputs, batch);
  const int64_t labels = encoder.config().num_labels;
  std::vector<float> logits(inputs.size() * labels, 0.0f);
  for (size_t g = replica; g < groups.size(); g += dp.world()) {
    const ClassifyGroup& group = groups[g];
    std::vector<const EncoderInput*> members;
    for (size_t index : group.members) members.push_back(&inputs[index]);
    const std::vector<float> out = encoder.classify(stream, group.bucket, members);
    for (size_t i = 0; i < group.members.size(); ++i)
      std::copy_n(out.data() + i * labels, labels, logits.data() + group.members[i] * labels);
  }
  // Every input's row is non-zero on one replica only: the sum is a gather.
  dp.all_reduce_sum(logits.data(), logits.size());
  std::vector<Classification> results(inputs.size());
  for (const ClassifyGroup& group : groups)
    for (size_t index : group.members) {
      results[index] = make_classification(encoder.config(), logits.data() + index * labels);
      results[index].bucket = encoder.bucket_length(group.bucket);
      results[index].tokens = static_cast<int64_t>(inputs[index].ids.size());
    }
  return results;
}

}  // namespace vkinfer
