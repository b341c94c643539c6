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

// Every endpoint's first checks of a body: a JSON object whose optional
// "model" names the served model. Throws ApiError (400, or 404 for another
// model's name).
void check_body_and_model(const nlohmann::json& body, const std::string& served_name);

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
  // Prompt plus max_tokens of one request (0: ctx): the KV positions a
  // request may reserve, and a chat's default max_tokens up to it.
  int64_t max_total_tokens = 0;
};

struct ParsedRequest {
  std::shared_ptr<ServeRequest> request;
  bool stream = false;
  bool chat = false;
  // stream_options.include_usage: a last chunk with no choices and the
  // request's usage, before [DONE], as OpenAI sends it.
  bool include_usage = false;
};

// Throws ApiError (400 for a bad field, 404 for another model's name).
ParsedRequest parse_request(const nlohmann::json& body, const ServedModel& model, bool chat);

// One reported token: its log-probabilities, the id before it (the
// prompt's last, or the token generated before it) so that token texts are
// decoded in context (" the", not "the"), and the length in code points of
// the completion text before its own.
struct ReportedToken {
  int32_t previous = -1;
  ops::TokenLogprobs logprobs;
  int64_t text_offset = 0;
};

// A choice's "logprobs" for these tokens (a whole response's, or one
// chunk's), top_n alternatives each: the legacy completions object
// {tokens, token_logprobs, top_logprobs, text_offset} (its top_logprobs
// maps hold the sampled token too, as OpenAI's do: up to top_n + 1), or
// chat's {"content": [{token, logprob, bytes, top_logprobs}]}. A token
// whose bytes are not valid UTF-8 on their own (a piece of a character) is
// named "bytes:\xe2\x80" as OpenAI names it; "bytes" has the raw bytes. A
// model without a tokenizer names tokens "token_id:<id>". -inf is -9999.0.
nlohmann::ordered_json logprobs_json(const std::vector<ReportedToken>& tokens, bool chat, int top_n,
                                     const Tokenizer* tokenizer);

// A whole response (non-streaming). `logprobs`: null, or logprobs_json's.
nlohmann::ordered_json completion_response(const std::string& id, const std::string& model, bool chat,
                                           const std::string& text, const std::string& finish_reason,
                                           int64_t prompt_tokens, int64_t completion_tokens,
                                           const nlohmann::ordered_json& logprobs = nullptr);
// One streamed chunk; `finish_reason` empty until the last. The first chat
// chunk carries the assistant role. `logprobs`: null, or the chunk's tokens'.
nlohmann::ordered_json stream_chunk(const std::string& id, const std::string& model, bool chat,
                                    const std::string& text, const std::string& finish_reason, bool first,
                                    const nlohmann::ordered_json& logprobs = nullptr);

// stream_options.include_usage: the last chunk before [DONE], with no
// choices and the request's usage.
nlohmann::ordered_json usage_chunk(const std::string& id, const std::string& model, bool chat, int64_t prompt_tokens,
                                   int64_t completion_tokens);

}  // namespace vkinfer::server
