// The `tokenizers` normalizers that byte-level and SentencePiece-style
// checkpoints use (GPT-NeoX/Pythia's NFC, Llama's Prepend + Replace, and the
// Unicode forms, Lowercase, Strip and StripAccents), applied to each piece of
// text between added tokens before pre-tokenization, as tokenizers 0.19 does.
// BertNormalizer is not here: the WordPiece model applies it itself.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vkinfer::tokenizer_detail {

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
  enum class Kind { kNfc, kNfd, kNfkc, kNfkd, kLowercase, kStripAccents, kStrip, kReplace, kPrepend };
  struct Step {
    explicit Step(Kind k) : kind(k) {}
    Kind kind;
    std::string pattern;  // Replace: the literal searched for
    std::string content;  // Replace: the replacement; Prepend: the prefix
    bool strip_left = false, strip_right = false;
  };
  void add(const nlohmann::json& spec, const std::filesystem::path& file);

  std::vector<Step> steps_;
};

}  // namespace vkinfer::tokenizer_detail
