#include "tests/support/golden.h"

#include <fstream>

#include "tests/support/gpu.h"

namespace vkinfer::testing {

nlohmann::json load_json_file(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(file);
}

nlohmann::json load_golden(const std::string& name) {
  return load_json_file(test_data_dir() + "/golden/" + name + ".json");
}

std::string model_dir(const std::string& name) { return test_data_dir() + "/models/" + name; }

}  // namespace vkinfer::testing
