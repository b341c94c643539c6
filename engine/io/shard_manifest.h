// Per-rank shard folders, as `vkinfer shard --tp N --out OUT` writes them:
//   OUT/vkinfer_shards.json      manifest: tp degree, rules version, dtype, source
//   OUT/config.json, tokenizer files, generation_config.json
//   OUT/tp_rank_<i>/model.safetensors   rank i's slices under canonical names
//   or, sharded into pipeline stages (--pp / --pipeline-cuts):
//   OUT/stage_<s>/tp_rank_<i>/model.safetensors   stage s's tensors only
// A folder of whole-model tp shards serves any pipeline cut (each stage
// reads only its layers' tensors); a staged folder serves its own cut.
// Every command loads either the original HF folder (each rank slicing its
// own part through the mmap) or such a folder (each rank reading only its
// own file). This file reads and checks the manifest; partition/shard_writer
// writes it. Weights are kept apart from compiled artifacts: pipelines live
// in the pipeline cache file, so the same shards serve any device.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vkinfer {

// Bump when the slicing rules change: sharded folders record it.
constexpr int kPartitionRulesVersion = 1;
constexpr const char* kShardManifestName = "vkinfer_shards.json";
constexpr const char* kShardFormat = "vkinfer-shards";

struct ShardStage {
  int64_t first_layer = 0, end_layer = 0;
};

struct ShardManifest {
  int tp = 1;
  std::vector<ShardStage> stages;  // empty: whole-model shards
  int rules_version = 0;
  std::string model_type;
  std::string dtype;
};

bool is_shard_folder(const std::filesystem::path& dir);
// Reads and checks OUT/vkinfer_shards.json (kBadFile naming the field).
ShardManifest read_manifest(const std::filesystem::path& dir);
// The same from the file's text; `path` names it in errors.
ShardManifest parse_manifest(std::string_view text, const std::filesystem::path& path);
// The folder holding config.json: the model folder itself in both layouts.
std::filesystem::path model_config_dir(const std::filesystem::path& dir);
// The folder of tp rank `rank` of the stage holding layers [first_layer,
// end_layer), checked against the manifest, the run's tp and (staged
// folders) the run's cut; end_layer < 0: the whole model.
std::filesystem::path rank_folder(const std::filesystem::path& dir, int rank, int world,
                                  int64_t first_layer = 0, int64_t end_layer = -1);

}  // namespace vkinfer
