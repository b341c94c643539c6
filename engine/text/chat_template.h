// A model's chat template, found and rendered as transformers 4.40's
// apply_chat_template(messages, add_generation_prompt=..., tokenize=False)
// does: the template from tokenizer_config.json ("chat_template": a string,
// or a list of {name, template} of which "default" is used), else from a
// chat_template.jinja or chat_template.json file (where newer transformers
// versions save it); rendered with messages, add_generation_prompt, the
// tokenizer's special tokens as strings (bos_token, eos_token, ... as
// special_tokens_map passes them) and any extra variables.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/text/jinja_render.h"

namespace vkinfer {

class ChatTemplate {
 public:
  // `origin` names where the source came from, for error messages.
  // `special_tokens` is a JSON object of the variables special_tokens_map
  // gives the template (see special_tokens_of). Throws vkinfer::Error
  // naming `origin` when the source does not parse.
  ChatTemplate(std::string source, std::string origin, nlohmann::json special_tokens);

  // The folder's template, or nullopt when it has none. Throws kBadFile for
  // a malformed tokenizer_config.json / chat_template.json or a list of
  // templates without a "default".
  static std::optional<ChatTemplate> load(const std::filesystem::path& dir);

  // The special-token variables of a folder's tokenizer: bos_token,
  // eos_token, unk_token, sep_token, pad_token, cls_token, mask_token and
  // additional_special_tokens, from tokenizer_config.json, else
  // special_tokens_map.json; unset or empty ones are left out, as
  // transformers leaves them out.
  static nlohmann::json special_tokens_of(const std::filesystem::path& dir);

  // `messages` is passed as given (ordered_json: keys keep their order, as
  // in the Python dicts transformers renders) (a list of role/content objects for
  // chats; see validate_messages); `extra` holds more variables (tools...),
  // which win over the special tokens as transformers' kwargs do. Throws
  // jinja::TemplateException when the template calls raise_exception, and
  // vkinfer::Error for any other failure (undefined values, limits).
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                     const nlohmann::ordered_json& extra = nlohmann::ordered_json::object(),
                     const jinja::Limits& limits = {}) const;

  const std::string& source() const { return source_; }
  const std::string& origin() const { return origin_; }

 private:
  std::string source_;
  std::string origin_;
  nlohmann::json special_tokens_;
  std::shared_ptr<const jinja::Template> compiled_;
};

// A chat for --messages: a JSON list of objects, each with a string "role"
// and a string "content". Throws kInvalidArgument naming the first message
// that is not (`what` names the input, e.g. the file).
void validate_messages(const nlohmann::ordered_json& messages, const std::string& what);

}  // namespace vkinfer
