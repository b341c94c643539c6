// Normalizers: the first step of a tokenizer.json pipeline, applied to each
// piece of text between added tokens before pre-tokenization, as tokenizers
// 0.19 does. One small class per `tokenizers` type (NFC, NFD, NFKC, NFKD,
// Lowercase, Strip, StripAccents, Replace, Prepend, BertNormalizer,
// Sequence), built from its JSON by a registry keyed on "type". The Unicode
// forms and case mappings come from ICU (unicode.h), not hand-kept tables.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vkinfer::tokenizer_detail {

class NormalizerStep {
 public:
  virtual ~NormalizerStep() = default;
  // `text` is valid UTF-8 and stays so.
  virtual void apply(std::string& text) const = 0;
};

class Normalizer {
 public:
  Normalizer() = default;  // the identity, as a null "normalizer" field
  // Reads tokenizer.json's "normalizer" value (null, one normalizer or a
  // Sequence, nested or not). Error(kUnsupported) names `file` and the type
  // for normalizers we do not implement; Error(kBadFile) for malformed ones.
  static Normalizer from_json(const nlohmann::json& spec, const std::filesystem::path& file);

  // `text` must be valid UTF-8.
  std::string apply(std::string_view text) const;
  bool is_identity() const { return steps_.empty(); }

 private:
  void add(const nlohmann::json& spec, const std::filesystem::path& file);

  // Shared so that a Normalizer copies cheaply; steps are immutable.
  std::vector<std::shared_ptr<const NormalizerStep>> steps_;
};

}  // namespace vkinfer::tokenizer_detail
