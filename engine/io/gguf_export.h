// The write direction of gguf_config.cpp and gguf_tokenizer.cpp: a Hugging
// Face folder's config.json and tokenizer files as GGUF metadata, the keys
// llama.cpp's convert_hf_to_gguf.py writes, chosen so that vkinfer's reader
// builds the same config and the same tokenizer back from them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/io/gguf_names.h"
#include "engine/io/gguf_writer.h"

namespace vkinfer {

// "{arch}.*" hyperparameters from config.json (`config`, read from `where`
// for messages), per the architecture's GgufKeyRule table plus the keys that
// need arithmetic (rope.dimension_count, rope.scaling.*, GPT-2's n_inner
// default), and tokenizer.ggml.bos/eos/padding_token_id from the config's
// ids. kUnsupported for a config the reader could not rebuild (a rope
// scaling type other than linear, a required field missing).
void add_gguf_config_metadata(GgufWriter& writer, const GgufArchitecture& arch, const nlohmann::json& config,
                              const std::string& where);

// tokenizer.ggml.* and tokenizer.chat_template from `dir`'s tokenizer.json
// and tokenizer_config.json, for byte-level BPE ("gpt2": tokens, token_type,
// merges, pre = gpt2 / llama-bpe / qwen2, add_bos/add_eos, unk/pad ids).
// `vocab_size` (the embedding's rows) pads the token list as the converter
// does. False when `dir` has no tokenizer.json (nothing is added);
// kUnsupported naming what is not byte-level BPE otherwise.
bool add_gguf_tokenizer_metadata(GgufWriter& writer, const std::filesystem::path& dir, int64_t vocab_size);

}  // namespace vkinfer
