#include "partition/shard_writer.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/model/config.h"
#include "engine/model/decoder_weights.h"
#include "engine/model/encoder_weights.h"
#include "engine/io/safetensors_writer.h"
#include "engine/io/shard_manifest.h"
#include "engine/model/rank_plan.h"

namespace vkinfer {
namespace {


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

void write_shards(const std::filesystem::path& model, int tp, const std::filesystem::path& out,
                  DType dtype, const std::vector<StageRange>& stages) {
  if (is_shard_folder(model))
    fail(ErrorCode::kInvalidArgument, "{} is already sharded; shard the original HF folder", model.string());
  const ModelConfig config = ModelConfig::load(model);
  if (!stages.empty() && !config.is_decoder())
    fail(ErrorCode::kInvalidArgument, "pipeline stages are for decoders; shard BERT by --tp only");
  // Whole-model shards are one stage holding everything.
  const std::vector<StageRange> parts =
      stages.empty() && config.is_decoder() ? plan_stages(config.decoder().num_layers, 1) : stages;
  // Validate the split for every rank before writing anything.
  for (int rank = 0; rank < tp; ++rank) {
    if (config.is_decoder()) plan_decoder(config.decoder(), {rank, tp});
    else plan_encoder(config.bert(), {rank, tp});
  }
  const Checkpoint checkpoint = Checkpoint::open(model);
  std::filesystem::create_directories(out);
  for (size_t s = 0; s < std::max<size_t>(parts.size(), 1); ++s)
    for (int rank = 0; rank < tp; ++rank) {
      const TpConfig tp_config{rank, tp};
      SafetensorsWriter writer;
      WriterSink sink(writer, dtype);
      // The family's tensor plan, sliced for this rank, into the writer.
      WeightLoader loader(checkpoint, nullptr, dtype, LoadMode::kShardWrite, &sink);
      if (config.is_decoder()) {
        const DecoderConfig& decoder = config.decoder();
        load_decoder_weights(loader, decoder, plan_decoder(decoder, tp_config), tp_config, parts[s]);
      } else {
        load_encoder_weights(loader, config.bert(), plan_encoder(config.bert(), tp_config), tp_config);
      }
      const auto stage_dir = stages.empty() ? out : out / ("stage_" + std::to_string(s));
      const auto folder = stage_dir / ("tp_rank_" + std::to_string(rank));
      std::filesystem::create_directories(folder);
      writer.write(folder / "model.safetensors",
                   {{"format", kShardFormat}, {"tp", std::to_string(tp)}, {"rank", std::to_string(rank)}});
    }
  for (const char* name : {"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                           "special_tokens_map.json", "vocab.json", "merges.txt", "vocab.txt",
                           "added_tokens.json", "tokenizer.model", "chat_template.jinja", "chat_template.json"}) {
    if (std::filesystem::exists(model / name))
      std::filesystem::copy_file(model / name, out / name, std::filesystem::copy_options::overwrite_existing);
  }
  nlohmann::json manifest = {{"format", kShardFormat},
                             {"tp", tp},
                             {"rules_version", kPartitionRulesVersion},
                             {"model_type", config.model_type},
                             {"dtype", dtype_name(dtype)},
                             {"source", std::filesystem::absolute(model).string()}};
  if (!stages.empty()) {
    manifest["stages"] = nlohmann::json::array();
    for (const StageRange& stage : stages) manifest["stages"].push_back({stage.first_layer, stage.end_layer});
  }
  std::ofstream(out / kShardManifestName) << manifest.dump(2) << "\n";
}

}  // namespace vkinfer
