#include "engine/io/shard_manifest.h"

#include <fstream>
#include <iterator>
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
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return parse_manifest(text, path);
}

ShardManifest parse_manifest(std::string_view text, const std::filesystem::path& path) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
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
  if (json.contains("stages")) {
    const nlohmann::json& stages = json["stages"];
    int64_t expected_first = 0;
    if (!stages.is_array() || stages.empty() || stages.size() > 4096)
      fail(ErrorCode::kBadFile, "{}: \"stages\" must be a non-empty list of [first, end) layer ranges",
           path.string());
    for (const nlohmann::json& stage : stages) {
      if (!stage.is_array() || stage.size() != 2 || !stage[0].is_number_integer() ||
          !stage[1].is_number_integer() || stage[0].get<int64_t>() != expected_first ||
          stage[1].get<int64_t>() <= expected_first)
        fail(ErrorCode::kBadFile, "{}: \"stages\" must be contiguous [first, end) layer ranges from 0",
             path.string());
      manifest.stages.push_back({stage[0].get<int64_t>(), stage[1].get<int64_t>()});
      expected_first = manifest.stages.back().end_layer;
    }
  }
  return manifest;
}

std::filesystem::path model_config_dir(const std::filesystem::path& dir) { return dir; }

std::filesystem::path rank_folder(const std::filesystem::path& dir, int rank, int world,
                                  int64_t first_layer, int64_t end_layer) {
  const ShardManifest manifest = read_manifest(dir);
  if (manifest.tp != world)
    fail(ErrorCode::kInvalidArgument,
         "{} was sharded for tp {} but this run uses --tp {}. HINT: run with --tp {}, or shard "
         "again from the original model", dir.string(), manifest.tp, world, manifest.tp);
  std::filesystem::path base = dir;
  if (!manifest.stages.empty()) {
    std::string cut;
    size_t match = manifest.stages.size();
    for (size_t s = 0; s < manifest.stages.size(); ++s) {
      const ShardStage& stage = manifest.stages[s];
      cut += fmt::format("{}[{}, {})", s ? " " : "", stage.first_layer, stage.end_layer);
      const int64_t end = end_layer < 0 ? manifest.stages.back().end_layer : end_layer;
      if (stage.first_layer == first_layer && stage.end_layer == end) match = s;
    }
    if (match == manifest.stages.size())
      fail(ErrorCode::kInvalidArgument,
           "{} was sharded into pipeline stages {} but this rank's stage is layers [{}, {}). HINT: "
           "run with the same --pp / --pipeline-cuts, or shard without them", dir.string(), cut,
           first_layer, end_layer < 0 ? manifest.stages.back().end_layer : end_layer);
    base = dir / ("stage_" + std::to_string(match));
  }
  const auto folder = base / ("tp_rank_" + std::to_string(rank));
  if (!std::filesystem::exists(folder / "model.safetensors"))
    fail(ErrorCode::kBadFile, "{}: rank {}'s shard is missing ({}). HINT: copy the whole shard "
         "folder, or re-run `vkinfer shard`", dir.string(), rank, (folder / "model.safetensors").string());
  return folder;
}

}  // namespace vkinfer
