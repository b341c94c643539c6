// generation_config.json, as far as stopping goes: transformers' generate()
// stops at the eos ids of the model's GenerationConfig, which
// from_pretrained reads from generation_config.json when the folder has one
// (chat models list several there, e.g. Llama 3's <|end_of_text|> and
// <|eot_id|>), and otherwise builds from config.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/config.h"

namespace vkinfer {

// The eos ids generation_config.json gives ("eos_token_id": an int, a list
// of ints, or null for none); nullopt when the file or the field is absent.
// Throws kBadConfig naming the file for malformed JSON, a non-integer id, or
// an id outside [0, vocab_size).
std::optional<std::vector<int>> generation_eos_ids(const std::filesystem::path& dir, int64_t vocab_size);
// The same from the file's text; `name` names it in errors.
std::optional<std::vector<int>> parse_generation_eos_ids(std::string_view text, const std::string& name,
                                                         int64_t vocab_size);

// Replaces config.eos_token_ids with generation_config.json's when it gives
// them, as the GenerationConfig transformers loads from that file replaces
// the model config's.
void apply_generation_config(const std::filesystem::path& dir, DecoderConfig& config);

}  // namespace vkinfer
