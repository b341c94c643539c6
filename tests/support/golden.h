// Reading the transformers goldens under tests/data/golden.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vkinfer::testing {

nlohmann::json load_json_file(const std::string& path);
nlohmann::json load_golden(const std::string& name);  // tests/data/golden/<name>.json
std::string model_dir(const std::string& name);        // tests/data/models/<name>
// Bytes written as hex by the golden scripts (Python's bytes.hex()), and
// little-endian fp32 values written the same way.
std::vector<uint8_t> from_hex(const std::string& hex);
std::vector<float> floats_from_hex(const std::string& hex);
// KV-cache length for running a golden model's cases (prompts up to ~100
// tokens plus 32 new ones): its max_positions, raised to 160 for rotary
// models whose max_position_embeddings is shorter (dynamic rope_scaling runs
// past it on purpose). 0 leaves the default.
int64_t golden_ctx(const std::string& dir);

}  // namespace vkinfer::testing
