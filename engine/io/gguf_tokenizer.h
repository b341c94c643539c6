// A GGUF file's tokenizer metadata (tokenizer.ggml.*, tokenizer.chat_template)
// as the Hugging Face files it stands for, so that engine/text builds the
// tokenizer and chat template through its one tokenizer.json pipeline.
//
// `tokenizer.ggml.model` "gpt2": byte-level BPE from tokens + merges, the
// pre-tokenizer chosen by `tokenizer.ggml.pre` (gpt2/default, llama-bpe
// (Llama 3), qwen2). "llama": SentencePiece tokens + scores with <0xXX>
// byte fallback, read as transformers' GGUF loader reads it (BPE whose
// merges are rebuilt from the scores). Token types mark the added tokens
// (CONTROL special, USER_DEFINED not); bos/eos/unk/pad ids and
// add_bos/add_eos become tokenizer_config fields.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/io/gguf.h"

namespace vkinfer {

struct GgufTokenizerFiles {
  nlohmann::json tokenizer;         // tokenizer.json
  nlohmann::json tokenizer_config;  // tokenizer_config.json (special tokens, flags, chat_template)
};

// True when the file carries a tokenizer (tokenizer.ggml.model).
bool gguf_has_tokenizer(const GgufFile& file);

// kUnsupported naming tokenizer.ggml.model or tokenizer.ggml.pre when
// vkinfer does not build that tokenizer; kBadFile for inconsistent arrays
// (lengths, ids outside the vocabulary).
GgufTokenizerFiles gguf_tokenizer_files(const GgufFile& file);

}  // namespace vkinfer
