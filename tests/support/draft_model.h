// A draft model for speculative decoding made from a decoder folder by
// keeping its first layers (and its embeddings, final norm and head as they
// are): same tokenizer, same vocabulary, fewer layers. Used by the tests and
// by bench/make_draft for the measured draft/target pair.
#pragma once

#include <cstdint>
#include <filesystem>

namespace vkinfer::testing {

// Writes DST/config.json (the layer count lowered), DST/model.safetensors
// (f32; every tensor of layers >= `layers` dropped) and copies the
// tokenizer files.
void write_first_layers(const std::filesystem::path& src, const std::filesystem::path& dst, int64_t layers);

}  // namespace vkinfer::testing
