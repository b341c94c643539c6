#include "partition/shard.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/model/checkpoint.h"
#include "engine/model/config.h"
#include "engine/model/decoder_weights.h"
#include "engine/model/safetensors_writer.h"
#include "partition/plan.h"

namespace vkinfer {
namespace {

constexpr const char* kManifest = "vkinfer_shards.json";
constexpr const char* kFormat = "vkinfer-shards";

class WriterSink final : public ShardSink {
 public:
  WriterSink(SafetensorsWriter& writer, DType dtype) : writer_(writer), dtype_(dtype) {}
  void add(const std::string& key, int64_t rows, int64_t cols, std::vector<float> data) override {
    std::vector<int64_t> shape = rows == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{rows, cols};
    // Gains and biases (1-D) stay fp32, as the device keeps them.
    writer_.add(key, shape, data, rows == 1 ? DType::kF32 : dtype_);
  }

 private:
  SafetensorsWriter& writer_;
  DType dtype_;
};

}  // namespace

bool is_shard_folder(const std::filesystem::path& dir) {
  return std::filesystem::exists(dir / kManifest);
}

ShardManifest read_manifest(const std::filesystem::path& dir) {
  const auto path = dir / kManifest;
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
  if (field("format") != kFormat)
    fail(ErrorCode::kBadFile, "{}: \"format\" is not \"{}\"", path.string(), kFormat);
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

void write_decoder_shards(const std::filesystem::path& model, int tp, const std::filesystem::path& out,
                          DType dtype) {
  if (is_shard_folder(model))
    fail(ErrorCode::kInvalidArgument, "{} is already sharded; shard the original HF folder", model.string());
  const ModelConfig config = ModelConfig::load(model);
  const DecoderConfig& decoder = config.decoder();
  // Validate the split for every rank before writing anything.
  for (int rank = 0; rank < tp; ++rank) plan_decoder(decoder, {rank, tp});
  const Checkpoint checkpoint = Checkpoint::open(model);
  std::filesystem::create_directories(out);
  for (int rank = 0; rank < tp; ++rank) {
    const TpConfig tp_config{rank, tp};
    SafetensorsWriter writer;
    WriterSink sink(writer, dtype);
    WeightLoader loader(checkpoint, nullptr, dtype, LoadMode::kShardWrite, &sink);
    load_decoder_weights(loader, decoder, plan_decoder(decoder, tp_config), tp_config);
    const auto folder = out / ("tp_rank_" + std::to_string(rank));
    std::filesystem::create_directories(folder);
    writer.write(folder / "model.safetensors",
                 {{"format", kFormat}, {"tp", std::to_string(tp)}, {"rank", std::to_string(rank)}});
  }
  for (const char* name : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                           "special_tokens_map.json", "vocab.json", "merges.txt", "vocab.txt",
                           "added_tokens.json", "tokenizer.model"}) {
    if (std::filesystem::exists(model / name))
      std::filesystem::copy_file(model / name, out / name, std::filesystem::copy_options::overwrite_existing);
  }
  nlohmann::json manifest = {{"format", kFormat},
                             {"tp", tp},
                             {"rules_version", kPartitionRulesVersion},
                             {"model_type", config.model_type},
                             {"dtype", dtype_name(dtype)},
                             {"source", std::filesystem::absolute(model).string()}};
  std::ofstream(out / kManifest) << manifest.dump(2) << "\n";
}

}  // namespace vkinfer
