// Reading generation_config.json's eos ids, with the same range checks as
// config.json's token ids.
#include "engine/model/generation_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/core/error.h"

namespace vkinfer {
namespace fs = std::filesystem;

namespace {

int checked_id(const std::string& path, const nlohmann::json& value, int64_t vocab_size) {
  if (!value.is_number_integer())
    fail(ErrorCode::kBadConfig, "{}: eos_token_id holds a JSON {}, expected integer token ids", path, value.type_name());
  const int64_t id = value.get<int64_t>();
  if (id < 0 || id >= vocab_size)
    fail(ErrorCode::kBadConfig, "{}: eos_token_id {} is outside the vocabulary [0, {})", path, id, vocab_size);
  return static_cast<int>(id);
}

}  // namespace

std::optional<std::vector<int>> generation_eos_ids(const fs::path& dir, int64_t vocab_size) {
  const fs::path path = dir / "generation_config.json";
  if (!fs::exists(path)) return std::nullopt;
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(ErrorCode::kBadConfig, "{}: cannot open", path.string());
  std::ostringstream text;
  text << file.rdbuf();
  return parse_generation_eos_ids(text.str(), path.string(), vocab_size);
}

std::optional<std::vector<int>> parse_generation_eos_ids(std::string_view text, const std::string& name,
                                                         int64_t vocab_size) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kBadConfig, "{}: malformed JSON ({})", name, e.what());
  }
  if (!config.is_object()) fail(ErrorCode::kBadConfig, "{}: expected a JSON object at the top level", name);
  if (!config.contains("eos_token_id")) return std::nullopt;
  const nlohmann::json& value = config["eos_token_id"];
  std::vector<int> ids;
  if (value.is_array()) {
    if (value.size() > 1024) fail(ErrorCode::kBadConfig, "{}: eos_token_id lists {} ids", name, value.size());
    for (const nlohmann::json& item : value) ids.push_back(checked_id(name, item, vocab_size));
  } else if (!value.is_null()) {
    ids.push_back(checked_id(name, value, vocab_size));
  }
  return ids;
}

void apply_generation_config(const fs::path& dir, DecoderConfig& config) {
  if (auto ids = generation_eos_ids(dir, config.vocab_size)) config.eos_token_ids = std::move(*ids);
}

}  // namespace vkinfer
