#include "engine/runtime/model_files.h"

#include "engine/io/gguf.h"
#include "engine/io/gguf_checkpoint.h"
#include "engine/io/gguf_config.h"
#include "engine/io/gguf_tokenizer.h"

namespace vkinfer {

namespace fs = std::filesystem;

namespace {

// A path that names a .gguf file is read as one, so that a missing or
// broken file gets GgufFile's error rather than "tokenizer folder not found".
bool as_gguf(const fs::path& model) {
  return is_gguf_file(model) || (model.extension() == ".gguf" && !fs::is_directory(model));
}

}  // namespace

bool model_tokenizer_present(const fs::path& model) {
  if (as_gguf(model)) return gguf_has_tokenizer(*GgufFile::open(model));
  return Tokenizer::present(model);
}

std::unique_ptr<Tokenizer> load_model_tokenizer(const fs::path& model) {
  if (!as_gguf(model)) return Tokenizer::load(model);
  const auto file = GgufFile::open(model);
  const GgufTokenizerFiles files = gguf_tokenizer_files(*file);
  return Tokenizer::from_json(files.tokenizer, files.tokenizer_config, gguf_hf_config(*file), model);
}

std::optional<ChatTemplate> load_model_chat_template(const fs::path& model) {
  if (!as_gguf(model)) return ChatTemplate::load(model);
  const auto file = GgufFile::open(model);
  if (!file->has("tokenizer.chat_template")) return std::nullopt;
  // The template sees the special tokens as strings, as special_tokens_of
  // gives them for a folder.
  const nlohmann::json config = gguf_tokenizer_files(*file).tokenizer_config;
  nlohmann::json specials = nlohmann::json::object();
  for (const char* name : {"bos_token", "eos_token", "unk_token", "pad_token"})
    if (config.contains(name) && !config[name].get<std::string>().empty()) specials[name] = config[name];
  return ChatTemplate(file->get_string("tokenizer.chat_template"), model.string() + " (tokenizer.chat_template)",
                      specials);
}

}  // namespace vkinfer
