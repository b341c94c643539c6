// Per-rank shard folders, as `vkinfer shard --tp N --out OUT` writes them:
//   OUT/vkinfer_shards.json      manifest: tp degree, rules version, dtype, source
//   OUT/config.json, tokenizer files, generation_config.json
//   OUT/tp_rank_<i>/model.safetensors   rank i's slices under canonical names
// Every command loads either the original HF folder (each rank slicing its
// own part through the mmap) or such a folder (each rank reading only its
// own file). This file reads and checks the manifest; partition/shard_writer
// writes it. Weights are kept apart from compiled artifacts: pipelines live
// in the pipeline cache file, so the same shards serve any device.
#pragma once

#include <filesystem>
#include <string>

namespace vkinfer {

// Bump when the slicing rules change: sharded folders record it.
constexpr int kPartitionRulesVersion = 1;
constexpr const char* kShardManifestName = "vkinfer_shards.json";
constexpr const char* kShardFormat = "vkinfer-shards";

struct ShardManifest {
  int tp = 1;
  int rules_version = 0;
  std::string model_type;
  std::string dtype;
};

bool is_shard_folder(const std::filesystem::path& dir);
// Reads and checks OUT/vkinfer_shards.json (kBadFile naming the field).
ShardManifest read_manifest(const std::filesystem::path& dir);
// The folder holding config.json: the model folder itself in both layouts.
std::filesystem::path model_config_dir(const std::filesystem::path& dir);
// Rank `rank`'s folder, checked against the manifest and the run's tp.
std::filesystem::path rank_folder(const std::filesystem::path& dir, int rank, int world);

}  // namespace vkinfer
