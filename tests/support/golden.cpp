#include "tests/support/golden.h"

#include <cstring>

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

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return bytes;
}

std::vector<float> floats_from_hex(const std::string& hex) {
  const std::vector<uint8_t> bytes = from_hex(hex);
  std::vector<float> values(bytes.size() / 4);
  std::memcpy(values.data(), bytes.data(), values.size() * 4);
  return values;
}

}  // namespace vkinfer::testing
