// Finding a model folder's chat template and rendering a conversation with
// it (transformers/tokenization_utils_base.py: apply_chat_template and the
// chat_template handling in __init__ / from_pretrained).
#include "engine/text/chat_template.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"

namespace vkinfer {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(ErrorCode::kBadFile, "{}: cannot open", path.string());
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::optional<json> read_json_object(const fs::path& path) {
  if (!fs::exists(path)) return std::nullopt;
  json j;
  try {
    j = json::parse(read_text(path));
  } catch (const json::exception& e) {
    fail(ErrorCode::kBadFile, "{}: malformed JSON ({})", path.string(), e.what());
  }
  if (!j.is_object()) fail(ErrorCode::kBadFile, "{}: expected a JSON object at the top level", path.string());
  return j;
}

// A special token is a string or an AddedToken object {"content": ...}.
std::optional<std::string> token_text(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string())
    return value["content"].get<std::string>();
  return std::nullopt;
}

// tokenizer_config.json's "chat_template": a string, or a list of named
// templates of which "default" is the one transformers 4.40 renders.
std::optional<std::string> config_template(const json& config, const fs::path& path) {
  if (!config.contains("chat_template") || config["chat_template"].is_null()) return std::nullopt;
  const json& value = config["chat_template"];
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_array())
    fail(ErrorCode::kBadFile, "{}: \"chat_template\" must be a string or a list of {{name, template}} objects",
         path.string());
  std::vector<std::string> names;
  for (const json& entry : value) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("template") ||
        !entry["template"].is_string())
      fail(ErrorCode::kBadFile, "{}: each \"chat_template\" entry must be {{\"name\": string, \"template\": string}}",
           path.string());
    names.push_back(entry["name"].get<std::string>());
  }
  // A later entry of the same name wins, as the dict transformers builds.
  for (auto it = value.rbegin(); it != value.rend(); ++it)
    if ((*it)["name"] == "default") return (*it)["template"].get<std::string>();
  std::sort(names.begin(), names.end());
  fail(ErrorCode::kBadFile, "{}: the model has several chat templates ({}) and none named \"default\"", path.string(),
       fmt::join(names, ", "));
}

}  // namespace

ChatTemplate::ChatTemplate(std::string source, std::string origin, json special_tokens)
    : source_(std::move(source)), origin_(std::move(origin)), special_tokens_(std::move(special_tokens)) {
  try {
    compiled_ = std::make_shared<const jinja::Template>(source_);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("chat template ({}): {}", origin_, e.what()));
  }
}

std::optional<ChatTemplate> ChatTemplate::load(const fs::path& dir) {
  if (!fs::is_directory(dir)) fail(ErrorCode::kBadFile, "{}: model folder not found", dir.string());
  const fs::path config_path = dir / "tokenizer_config.json";
  if (auto config = read_json_object(config_path)) {
    if (auto source = config_template(*config, config_path))
      return ChatTemplate(std::move(*source), config_path.string(), special_tokens_of(dir));
  }
  const fs::path jinja_path = dir / "chat_template.jinja";
  if (fs::exists(jinja_path)) return ChatTemplate(read_text(jinja_path), jinja_path.string(), special_tokens_of(dir));
  const fs::path json_path = dir / "chat_template.json";
  if (auto file = read_json_object(json_path)) {
    if (auto source = config_template(*file, json_path))
      return ChatTemplate(std::move(*source), json_path.string(), special_tokens_of(dir));
    fail(ErrorCode::kBadFile, "{}: no \"chat_template\" string in it", json_path.string());
  }
  return std::nullopt;
}

json ChatTemplate::special_tokens_of(const fs::path& dir) {
  const json config = read_json_object(dir / "tokenizer_config.json").value_or(json::object());
  const json map = read_json_object(dir / "special_tokens_map.json").value_or(json::object());
  auto field = [&](const char* name) -> const json* {
    for (const json* source : {&config, &map})
      if (source->contains(name)) return &(*source)[name];
    return nullptr;
  };
  json tokens = json::object();
  for (const char* name : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}) {
    const json* value = field(name);
    if (!value) continue;
    const std::optional<std::string> text = token_text(*value);
    if (text && !text->empty()) tokens[name] = *text;  // special_tokens_map drops falsy values
  }
  if (const json* extra = field("additional_special_tokens"); extra && extra->is_array()) {
    json list = json::array();
    for (const json& item : *extra)
      if (auto text = token_text(item)) list.push_back(*text);
    if (!list.empty()) tokens["additional_special_tokens"] = list;
  }
  return tokens;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                 const nlohmann::ordered_json& extra,
                                 const jinja::Limits& limits) const {
  // transformers reads conversation[0] before rendering: an empty list fails.
  if (messages.is_array() && messages.empty())
    fail(ErrorCode::kInvalidArgument, "the conversation holds no message");
  jinja::Dict context;
  context.set("messages", jinja::from_json(messages));
  context.set("add_generation_prompt", jinja::Value::from_bool(add_generation_prompt));
  for (const auto& [key, value] : special_tokens_.items())
    context.set(key, jinja::from_json(nlohmann::ordered_json(value)));
  if (extra.is_object())
    for (const auto& [key, value] : extra.items()) context.set(key, jinja::from_json(value));
  try {
    return compiled_->render(context, limits);
  } catch (const jinja::TemplateException& e) {
    // what() stays one line (the CLI prints it as one); message() is exact.
    std::string shown = fmt::format("the chat template ({}) refused the conversation: {}", origin_, e.message());
    std::replace(shown.begin(), shown.end(), '\n', ' ');
    throw jinja::TemplateException(e.message(), shown);
  } catch (const Error& e) {
    throw Error(e.code(), fmt::format("chat template ({}): {}", origin_, e.what()));
  }
}

void validate_messages(const nlohmann::ordered_json& messages, const std::string& what) {
  if (!messages.is_array())
    fail(ErrorCode::kInvalidArgument, "{}: expected a JSON list of {{\"role\": ..., \"content\": ...}} objects, got {}",
         what, messages.type_name());
  if (messages.empty()) fail(ErrorCode::kInvalidArgument, "{}: the conversation holds no message", what);
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::ordered_json& m = messages[i];
    if (!m.is_object())
      fail(ErrorCode::kInvalidArgument, "{}: message {} is a {}, not an object with \"role\" and \"content\"", what, i,
           m.type_name());
    for (const char* key : {"role", "content"})
      if (!m.contains(key) || !m[key].is_string())
        fail(ErrorCode::kInvalidArgument, "{}: message {} needs a string \"{}\"", what, i, key);
  }
}

}  // namespace vkinfer
