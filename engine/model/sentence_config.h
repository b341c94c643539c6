// A sentence-transformers folder read as sentence-transformers 2.7.0 loads
// it: modules.json lists the modules (Transformer, Pooling, optionally
// Normalize), the Pooling module's config.json says which poolings are
// concatenated, sentence_bert_config.json gives max_seq_length and
// do_lower_case. A plain Hugging Face BERT folder (no modules.json) gets what
// sentence-transformers builds for one: mean pooling, no normalization and
// max_seq_length = min(max_position_embeddings, the tokenizer's
// model_max_length). Anything sentence-transformers would compute that
// vkinfer does not (Dense layers, weighted-mean or last-token pooling, a
// default prompt) is refused by name, never skipped. The parse functions
// take text so that a fuzzer can drive them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vkinfer {

// Pooling modes in the order sentence-transformers' Pooling.forward
// concatenates them.
enum class SentencePooling : uint8_t { kCls, kMax, kMean, kMeanSqrtLen };

struct SentenceModules {
  std::string transformer_path;  // the BERT folder, relative ("" = the folder itself)
  std::string pooling_path;      // the Pooling module's folder
  bool normalize = false;        // a Normalize module follows the Pooling
};

struct SentencePoolingConfig {
  int64_t word_embedding_dimension = 0;
  std::vector<SentencePooling> modes;  // concatenation order, at least one
};

struct SentenceBertConfig {
  int64_t max_seq_length = 0;  // 0: not given (null or absent)
  bool do_lower_case = false;
};

// modules.json: [Transformer, Pooling, (Normalize)] in that order. kBadFile
// for malformed JSON or a missing/mistyped field, kUnsupported naming any
// other module type or order.
SentenceModules parse_modules_json(std::string_view text, const std::string& source);
// The Pooling module's config.json (Pooling(**config): unknown keys are an
// error there too). kUnsupported for weightedmean / lasttoken.
SentencePoolingConfig parse_pooling_config(std::string_view text, const std::string& source);
SentenceBertConfig parse_sentence_bert_config(std::string_view text, const std::string& source);
// config_sentence_transformers.json: kUnsupported when it sets a
// default_prompt_name (sentence-transformers would prepend that prompt).
void check_sentence_transformers_config(std::string_view text, const std::string& source);
// tokenizer_config.json's model_max_length, 0 when absent (transformers then
// uses a huge value) or past int64.
int64_t parse_model_max_length(std::string_view text, const std::string& source);

// What `vkinfer embed` runs.
struct SentenceConfig {
  std::filesystem::path model_dir;  // the BERT folder: config.json, weights, tokenizer
  bool sentence_transformers = false;  // false: a plain HF folder (mean pooling)
  std::vector<SentencePooling> pooling;
  bool normalize = false;
  int64_t max_seq_length = 0;  // tokens with [CLS] and [SEP]; longer texts are cut
  bool do_lower_case = false;  // lowercase texts (Python str.lower) before tokenizing
  int64_t hidden_size = 0;
  int64_t dim() const;         // output width: hidden_size per pooling mode
};

// sentence-transformers' name for the modes (Pooling.get_pooling_mode_str:
// "cls", "mean", "max", "mean_sqrt_len_tokens", joined by "+" in that order).
std::string pooling_mode_name(const std::vector<SentencePooling>& modes);

// Reads `dir` (and the BERT folder's config.json: a decoder is refused).
SentenceConfig load_sentence_config(const std::filesystem::path& dir);

}  // namespace vkinfer
