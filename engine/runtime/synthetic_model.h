// Shape-only synthetic models for benchmarks: an HF folder with the real
// config.json of a well-known model and random weights, written once to a
// cache folder so nothing needs downloading.
#pragma once

#include <filesystem>
#include <string>

namespace vkinfer {

// name: gpt2-124m | llama-1b | bert-base. Returns the folder.
std::filesystem::path synthetic_model(const std::string& name, const std::filesystem::path& cache_root);

}  // namespace vkinfer
