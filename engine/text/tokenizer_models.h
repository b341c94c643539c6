// The "model" step of a tokenizer.json pipeline and the TokenModel that
// chains pre-tokenizer -> model -> decoder. A WordModel turns one
// pre-tokenized piece into ids: one small class per `tokenizers` model type
// (BPE, WordPiece, WordLevel), built by a registry keyed on "type", with
// tokenizers 0.19's models/*.rs semantics (byte_fallback, unk fusing,
// ignore_merges, continuing_subword_prefix, end_of_word_suffix).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/text/tokenizer_decoder.h"
#include "engine/text/tokenizer_pipeline.h"
#include "engine/text/tokenizer_pretokenizer.h"

namespace vkinfer::tokenizer_detail {

class WordModel {
 public:
  virtual ~WordModel() = default;
  virtual void tokenize(std::string_view piece, std::vector<int32_t>& ids) const = 0;
  virtual const std::string* id_to_token(int32_t id) const = 0;  // nullptr when absent
  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1 when absent
  virtual int32_t size() const = 0;
};

struct ModelOptions {
  // What a BPE merge result missing from the vocabulary becomes when the
  // model names no unk_token (transformers calls GPT-2's unk <|endoftext|>).
  std::string fallback_unk_token;
};

// Builds tokenizer.json's "model". Error(kUnsupported) names the file and an
// unknown type (Unigram, ...); Error(kBadFile) malformed fields.
std::unique_ptr<WordModel> make_word_model(const nlohmann::json& model, const std::filesystem::path& file,
                                           const ModelOptions& options);

// pre-tokenizer (may be null) -> WordModel -> decoder (may be null).
std::unique_ptr<TokenModel> make_pipeline_model(std::unique_ptr<PreTokenizer> pre, std::unique_ptr<WordModel> model,
                                                std::unique_ptr<Decoder> decoder);

}  // namespace vkinfer::tokenizer_detail
