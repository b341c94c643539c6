// libFuzzer target: the sentence-transformers folder parsers
// (engine/model/sentence_config.h) on arbitrary bytes. One input is
// modules.json NUL Pooling config.json NUL sentence_bert_config.json NUL
// config_sentence_transformers.json NUL tokenizer_config.json (missing parts
// are empty); each part goes to its parser. Every part must parse or throw a
// typed vkinfer::Error (a bare nlohmann exception would reach the CLI without
// naming the file), and what parses must be in range: module paths inside
// the folder, at least one pooling mode in concatenation order, lengths >= 0.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/model/sentence_config.h"

namespace {

template <typename Parse>
void guarded(Parse&& parse) {
  try {
    parse();
  } catch (const vkinfer::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= input.size() && parts.size() < 5; ++i)
    if (i == input.size() || input[i] == '\0') {
      parts.push_back(input.substr(start, i - start));
      start = i + 1;
    }
  parts.resize(5);
  using namespace vkinfer;
  guarded([&] {
    const SentenceModules m = parse_modules_json(parts[0], "modules.json");
    for (const std::string& path : {m.transformer_path, m.pooling_path}) {
      const std::filesystem::path p(path);
      if (p.is_absolute()) __builtin_trap();
      for (const auto& part : p)
        if (part == "..") __builtin_trap();
    }
  });
  guarded([&] {
    const SentencePoolingConfig p = parse_pooling_config(parts[1], "1_Pooling/config.json");
    if (p.modes.empty() || p.modes.size() > 4 || p.word_embedding_dimension < 1) __builtin_trap();
    for (size_t i = 1; i < p.modes.size(); ++i)
      if (p.modes[i] <= p.modes[i - 1]) __builtin_trap();
    if (pooling_mode_name(p.modes).empty()) __builtin_trap();
  });
  guarded([&] {
    if (parse_sentence_bert_config(parts[2], "sentence_bert_config.json").max_seq_length < 0) __builtin_trap();
  });
  guarded([&] { check_sentence_transformers_config(parts[3], "config_sentence_transformers.json"); });
  guarded([&] {
    if (parse_model_max_length(parts[4], "tokenizer_config.json") < 0) __builtin_trap();
  });
  return 0;
}
