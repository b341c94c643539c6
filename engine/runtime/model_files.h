// A model's tokenizer and chat template, wherever the model path points: a
// Hugging Face folder (tokenizer.json, tokenizer_config.json, ...) or a
// .gguf file (its tokenizer.ggml.* and tokenizer.chat_template metadata).
// Front ends call these instead of Tokenizer::load / ChatTemplate::load so
// that `--model FILE.gguf` works wherever a folder does (engine/text cannot
// read GGUF itself: it depends on engine/core only).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "engine/text/chat_template.h"
#include "engine/text/tokenizer.h"

namespace vkinfer {

// True when the model has a tokenizer (a model run from token ids needs none).
bool model_tokenizer_present(const std::filesystem::path& model);
std::unique_ptr<Tokenizer> load_model_tokenizer(const std::filesystem::path& model);
// nullopt when the model has no chat template.
std::optional<ChatTemplate> load_model_chat_template(const std::filesystem::path& model);

}  // namespace vkinfer
