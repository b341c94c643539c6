// A GGUF file's hyperparameters as the Hugging Face config.json they were
// converted from, so that ModelConfig::parse (and every range check in it)
// reads GGUF models the way it reads folders.
#pragma once

#include <nlohmann/json.hpp>

#include "engine/io/gguf.h"

namespace vkinfer {

// kUnsupported naming the architecture, key or tensor for anything vkinfer
// does not run (an unmapped architecture, partial rotary outside GPT-NeoX,
// rope scaling other than linear, Llama 3's rope_freqs, Phi-3's long-rope
// factors); kBadFile naming the key when a required key is missing or has
// another type.
nlohmann::json gguf_hf_config(const GgufFile& file);

}  // namespace vkinfer
