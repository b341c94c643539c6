#include "tests/support/golden.h"

#include <fstream>

#include "engine/model/config.h"
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

int64_t golden_ctx(const std::string& dir) {
  const DecoderConfig config = ModelConfig::load(dir).decoder();
  constexpr int64_t kGoldenLength = 160;
  if (config.learned_positions || config.max_positions >= kGoldenLength) return 0;
  return kGoldenLength;
}

}  // namespace vkinfer::testing
