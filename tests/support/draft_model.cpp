#include "tests/support/draft_model.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "engine/core/error.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors_writer.h"

namespace vkinfer::testing {

void write_first_layers(const std::filesystem::path& src, const std::filesystem::path& dst, int64_t layers) {
  nlohmann::json config = nlohmann::json::parse(std::ifstream(src / "config.json"));
  bool lowered = false;
  for (const char* key : {"num_hidden_layers", "n_layer", "num_layers"})
    if (config.contains(key)) {
      if (config[key].get<int64_t>() <= layers)
        fail(ErrorCode::kInvalidArgument, "{} has {} layers; a draft keeps fewer", src.string(),
             config[key].get<int64_t>());
      config[key] = layers;
      lowered = true;
    }
  if (!lowered) fail(ErrorCode::kInvalidArgument, "{}: config.json names no layer count", src.string());
  std::filesystem::create_directories(dst);
  std::ofstream(dst / "config.json") << config.dump(2) << "\n";
  // Layer tensors are named <prefix>.(h|layers|layer).<index>.<rest> in every family here.
  const std::regex layer_index(R"((^|\.)(h|layers|layer)\.(\d+)\.)");
  const Checkpoint checkpoint = Checkpoint::open(src);
  SafetensorsWriter writer;
  for (const std::string& name : checkpoint.names()) {
    std::smatch match;
    if (std::regex_search(name, match, layer_index) && std::stoll(match[3].str()) >= layers) continue;
    writer.add(name, checkpoint.info(name).shape, checkpoint.read_f32(name));
  }
  writer.write(dst / "model.safetensors");
  for (const char* file : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                           "merges.txt", "vocab.txt", "generation_config.json", "tokenizer.model"})
    if (std::filesystem::exists(src / file))
      std::filesystem::copy_file(src / file, dst / file, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace vkinfer::testing
