// Reading the transformers goldens under tests/data/golden.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace vkinfer::testing {

nlohmann::json load_json_file(const std::string& path);
nlohmann::json load_golden(const std::string& name);  // tests/data/golden/<name>.json
std::string model_dir(const std::string& name);        // tests/data/models/<name>

}  // namespace vkinfer::testing
