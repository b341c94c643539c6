#include "engine/runtime/embedder.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/model/encoder_load.h"
#include "engine/runtime/classifier.h"
#include "engine/text/tokenizer.h"
#include "engine/text/unicode.h"

namespace vkinfer {

EncoderHead embedding_head(const SentenceConfig& config) {
  EncoderHead head;
  for (SentencePooling mode : config.pooling) {
    switch (mode) {
      case SentencePooling::kCls: head.pooling |= POOL_CLS; break;
      case SentencePooling::kMax: head.pooling |= POOL_MAX; break;
      case SentencePooling::kMean: head.pooling |= POOL_MEAN; break;
      case SentencePooling::kMeanSqrtLen: head.pooling |= POOL_MEAN_SQRT_LEN; break;
    }
  }
  head.normalize = config.normalize;
  return head;
}

std::vector<int64_t> embedding_buckets(const SentenceConfig& config, std::vector<int64_t> requested) {
  if (requested.empty()) return default_buckets(config.max_seq_length);
  std::sort(requested.begin(), requested.end());
  requested.erase(std::unique(requested.begin(), requested.end()), requested.end());
  for (int64_t length : requested)
    if (length < 1 || length > config.max_seq_length)
      fail(ErrorCode::kInvalidArgument,
           "--buckets: {} is outside [1, {}] (the model's max_seq_length: texts are cut to it)", length,
           config.max_seq_length);
  // Any text may be cut to max_seq_length tokens: the largest bucket holds it.
  if (requested.back() != config.max_seq_length) requested.push_back(config.max_seq_length);
  return requested;
}

EncoderInput tokenize_for_embedding(const Tokenizer& tokenizer, const SentenceConfig& config,
                                    const std::string& text) {
  // str(s).strip(), then s.lower() under do_lower_case.
  std::u32string cps = unicode::to_code_points(text);
  size_t begin = 0, end = cps.size();
  while (begin < end && unicode::is_python_space(cps[begin])) ++begin;
  while (end > begin && unicode::is_python_space(cps[end - 1])) --end;
  cps = cps.substr(begin, end - begin);
  if (config.do_lower_case) cps = unicode::to_lower(cps);
  Encoding encoding = encode_truncated(tokenizer, unicode::to_utf8(cps), std::nullopt,
                                       static_cast<int>(config.max_seq_length));
  return {std::move(encoding.ids), std::move(encoding.type_ids)};
}

std::vector<Embedding> embed_on_rank(Encoder& encoder, vk::CommandStream& stream, Communicator& dp,
                                     int replica, const std::vector<EncoderInput>& inputs, int64_t batch) {
  const std::vector<ClassifyGroup> groups = plan_classify_groups(encoder, inputs, batch);
  const int64_t width = encoder.output_width();
  std::vector<float> all(inputs.size() * width, 0.0f);
  for (size_t g = replica; g < groups.size(); g += dp.world()) {
    const ClassifyGroup& group = groups[g];
    std::vector<const EncoderInput*> members;
    for (size_t index : group.members) members.push_back(&inputs[index]);
    const std::vector<float> out = encoder.embed(stream, group.bucket, members);
    for (size_t i = 0; i < group.members.size(); ++i)
      std::copy_n(out.data() + i * width, width, all.data() + group.members[i] * width);
  }
  // Every input's row is non-zero on one replica only: the sum is a gather.
  dp.all_reduce_sum(all.data(), all.size());
  std::vector<Embedding> results(inputs.size());
  for (const ClassifyGroup& group : groups)
    for (size_t index : group.members) {
      Embedding& e = results[index];
      e.values.assign(all.begin() + index * width, all.begin() + (index + 1) * width);
      e.tokens = static_cast<int64_t>(inputs[index].ids.size());
      e.bucket = encoder.bucket_length(group.bucket);
    }
  return results;
}

}  // namespace vkinfer
