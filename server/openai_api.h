// OpenAI's request and response shapes for /v1/completions and
// /v1/chat/completions: a request body is checked field by field (type,
// range, what vkinfer does not compute) into a ServeRequest, or an ApiError
// with the status and the `{"error": {message, type, code}}` body OpenAI's
// clients expect. Responses, stream chunks and usage are built here too, so
// the HTTP layer only moves bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/text/tokenizer.h"
#include "server/serve_request.h"

namespace vkinfer::server {

struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string type = "invalid_request_error",
           std::string code = "")
      : std::runtime_error(message), status(status), type(std::move(type)), code(std::move(code)) {}
  int status;
  std::string type, code;
  nlohmann::json body() const;
};

// What the server serves, as the request parser needs it.
struct ServedModel {
  std::string name;                  // the folder's name; requests may name it
  int64_t ctx = 0;                   // prompt + max_tokens must fit
  int64_t vocab_size = 0;
  const Tokenizer* tokenizer = nullptr;  // null: prompts must be token ids
  // Renders a chat (a validated list of role/content messages) into the
  // prompt text; empty when the model has no chat template.
  std::function<std::string(const nlohmann::json& messages)> render_chat;
  int64_t max_prompt_tokens = 0;     // 0: ctx
};

struct ParsedRequest {
  std::shared_ptr<ServeRequest> request;
  bool stream = false;
  bool chat = false;
};

// Throws ApiError (400 for a bad field, 404 for another model's name).
ParsedRequest parse_request(const nlohmann::json& body, const ServedModel& model, bool chat);

// A whole response (non-streaming).
nlohmann::json completion_response(const std::string& id, const std::string& model, bool chat,
                                   const std::string& text, const std::string& finish_reason,
                                   int64_t prompt_tokens, int64_t completion_tokens);
// One streamed chunk; `finish_reason` empty until the last. The first chat
// chunk carries the assistant role.
nlohmann::json stream_chunk(const std::string& id, const std::string& model, bool chat,
                            const std::string& text, const std::string& finish_reason, bool first);

}  // namespace vkinfer::server
