#include "engine/io/shard_manifest.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace vkinfer {

bool is_shard_folder(const std::filesystem::path& dir) {
  return std::filesystem::exists(dir / kShardManifestName);
}

ShardManifest read_manifest(const std::filesystem::path& dir) {
  const auto path = dir / kShardManifestName;
  std::ifstream file(path);
  if (!file) fail(ErrorCode::kBadFile, "{}: cannot open the shard manifest", path.string());
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(file);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kBadFile, "{}: malformed JSON ({})", path.string(), e.what());
  }
  auto field = [&](const char* name) -> const nlohmann::json& {
    if (!json.is_object() || !json.contains(name))
      fail(ErrorCode::kBadFile, "{}: missing field \"{}\". HINT: re-run `vkinfer shard`", path.string(), name);
    return json[name];
  };
  if (field("format") != kShardFormat)
    fail(ErrorCode::kBadFile, "{}: \"format\" is not \"{}\"", path.string(), kShardFormat);
  ShardManifest manifest;
  if (!field("tp").is_number_integer() || field("tp").get<int64_t>() < 1 || field("tp").get<int64_t>() > 4096)
    fail(ErrorCode::kBadFile, "{}: \"tp\" must be a positive integer", path.string());
  manifest.tp = field("tp").get<int>();
  if (!field("rules_version").is_number_integer())
    fail(ErrorCode::kBadFile, "{}: \"rules_version\" must be an integer", path.string());
  manifest.rules_version = field("rules_version").get<int>();
  if (manifest.rules_version != kPartitionRulesVersion)
    fail(ErrorCode::kBadFile, "{}: made by partition rules version {}, this vkinfer uses {}. HINT: "
         "re-run `vkinfer shard` from the original model", path.string(), manifest.rules_version,
         kPartitionRulesVersion);
  manifest.model_type = field("model_type").is_string() ? field("model_type").get<std::string>() : "";
  manifest.dtype = field("dtype").is_string() ? field("dtype").get<std::string>() : "";
  return manifest;
}

std::filesystem::path model_config_dir(const std::filesystem::path& dir) { return dir; }

std::filesystem::path rank_folder(const std::filesystem::path& dir, int rank, int world) {
  const ShardManifest manifest = read_manifest(dir);
  if (manifest.tp != world)
    fail(ErrorCode::kInvalidArgument,
         "{} was sharded for tp {} but this run uses --tp {}. HINT: run with --tp {}, or shard "
         "again from the original model", dir.string(), manifest.tp, world, manifest.tp);
  const auto folder = dir / ("tp_rank_" + std::to_string(rank));
  if (!std::filesystem::exists(folder / "model.safetensors"))
    fail(ErrorCode::kBadFile, "{}: rank {}'s shard is missing ({}). HINT: copy the whole shard "
         "folder, or re-run `vkinfer shard`", dir.string(), rank, (folder / "model.safetensors").string());
  return folder;
}

}  // namespace vkinfer
