// Request checks mirror OpenAI's documented ranges; fields vkinfer cannot
// honour (logprobs, presence/frequency penalties, n > 1) are refused with a
// 400 that names them rather than ignored.
#include "server/openai_api.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace vkinfer::server {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& message, const std::string& code = "") {
  throw ApiError(400, message, "invalid_request_error", code);
}

std::optional<double> number(const json& body, const char* key, double low, double high) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  const json& value = body[key];
  if (!value.is_number()) bad(fmt::format("'{}' must be a number, not a JSON {}", key, value.type_name()));
  const double x = value.get<double>();
  if (!std::isfinite(x) || x < low || x > high) bad(fmt::format("'{}' is {}; it must lie in [{}, {}]", key, x, low, high));
  return x;
}

std::optional<int64_t> integer(const json& body, const char* key, int64_t low, int64_t high) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  const json& value = body[key];
  if (!value.is_number_integer())
    bad(fmt::format("'{}' must be an integer, not {}", key, value.dump()));
  // JSON parsers read non-negative numbers as unsigned: compare in that type.
  const bool in_range = value.is_number_unsigned()
                            ? value.get<uint64_t>() <= uint64_t(high) && (low <= 0 || value.get<uint64_t>() >= uint64_t(low))
                            : value.get<int64_t>() >= low && value.get<int64_t>() <= high;
  if (!in_range) bad(fmt::format("'{}' is {}; it must lie in [{}, {}]", key, value.dump(), low, high));
  return value.get<int64_t>();
}

bool flag(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return false;
  if (!body[key].is_boolean()) bad(fmt::format("'{}' must be true or false, not {}", key, body[key].dump()));
  return body[key].get<bool>();
}

std::vector<int32_t> token_ids(const json& array, int64_t vocab) {
  std::vector<int32_t> ids;
  for (const json& id : array) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab)
      bad(fmt::format("'prompt' token {} is not an id in [0, {})", id.dump(), vocab));
    ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  return ids;
}

// A completion's prompt: a string, a list of token ids, or a list holding one
// of those (OpenAI's batch form, with one entry: n and batches are 1 here).
std::vector<int32_t> completion_prompt(const json& body, const ServedModel& model) {
  if (!body.contains("prompt")) bad("'prompt' is required");
  json prompt = body["prompt"];
  if (prompt.is_array() && prompt.size() == 1 && (prompt[0].is_string() || prompt[0].is_array()))
    prompt = json(prompt[0]);
  if (prompt.is_string()) {
    if (!model.tokenizer) bad("this model has no tokenizer; send 'prompt' as a list of token ids");
    return model.tokenizer->encode(prompt.get<std::string>()).ids;
  }
  if (prompt.is_array() && std::all_of(prompt.begin(), prompt.end(), [](const json& x) { return x.is_number(); }))
    return token_ids(prompt, model.vocab_size);
  bad("'prompt' must be a string or a list of token ids (one prompt per request)");
}

std::vector<int32_t> chat_prompt(const json& body, const ServedModel& model) {
  if (!model.render_chat || !model.tokenizer) bad("this model has no chat template; use /v1/completions");
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    bad("'messages' must be a non-empty list of {\"role\", \"content\"} objects");
  for (const json& m : body["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      bad(fmt::format("every message needs a string 'role' and a string 'content'; got {}", m.dump()));
  }
  std::string text;
  try {
    text = model.render_chat(body["messages"]);
  } catch (const std::exception& e) {
    bad(fmt::format("the chat template failed: {}", e.what()));
  }
  // apply_chat_template(tokenize=True) encodes without adding special tokens:
  // the template writes them.
  return model.tokenizer->encode(text, /*add_special_tokens=*/false).ids;
}

}  // namespace

json ApiError::body() const {
  return {{"error", {{"message", what()}, {"type", type}, {"param", nullptr},
                     {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

ParsedRequest parse_request(const json& body, const ServedModel& model, bool chat) {
  if (!body.is_object()) bad(fmt::format("the body must be a JSON object, not a JSON {}", body.type_name()));
  if (body.contains("model") && !body["model"].is_null()) {
    if (!body["model"].is_string()) bad("'model' must be a string");
    if (body["model"].get<std::string>() != model.name)
      throw ApiError(404, fmt::format("the model '{}' does not exist; this server serves '{}'",
                                      body["model"].get<std::string>(), model.name),
                     "invalid_request_error", "model_not_found");
  }
  if (auto n = integer(body, "n", 1, 1 << 20); n && *n != 1) bad("'n' must be 1: vkinfer returns one choice");
  for (const char* key : {"presence_penalty", "frequency_penalty"})
    if (auto x = number(body, key, -2.0, 2.0); x && *x != 0.0)
      bad(fmt::format("'{}' is not supported by vkinfer; use 'repetition_penalty'", key));
  if (body.contains("logprobs") && !body["logprobs"].is_null() && body["logprobs"] != false &&
      body["logprobs"] != 0)
    bad("'logprobs' is not supported by vkinfer's GPU sampler");
  if (body.contains("best_of") && !body["best_of"].is_null() && body["best_of"] != 1) bad("'best_of' must be 1");
  if (flag(body, "echo")) bad("'echo' is not supported");

  ParsedRequest parsed;
  parsed.chat = chat;
  parsed.stream = flag(body, "stream");
  auto request = std::make_shared<ServeRequest>();
  request->prompt = chat ? chat_prompt(body, model) : completion_prompt(body, model);
  const int64_t prompt_tokens = static_cast<int64_t>(request->prompt.size());
  if (prompt_tokens == 0) bad("the prompt is empty");
  const int64_t prompt_limit = model.max_prompt_tokens > 0 ? std::min(model.max_prompt_tokens, model.ctx) : model.ctx;
  if (prompt_tokens >= prompt_limit)
    bad(fmt::format("the prompt has {} tokens; this server takes prompts of up to {} tokens",
                    prompt_tokens, prompt_limit - 1),
        "context_length_exceeded");
  // OpenAI: 16 for completions; a chat runs until the context is full.
  const char* max_key = chat && body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const std::optional<int64_t> max_tokens = integer(body, max_key, 1, int64_t(1) << 40);
  request->max_new_tokens = max_tokens.value_or(chat ? model.ctx - prompt_tokens : 16);
  if (prompt_tokens + request->max_new_tokens > model.ctx)
    bad(fmt::format("the prompt ({} tokens) plus '{}' ({}) exceeds the context of {} tokens", prompt_tokens,
                    max_key, request->max_new_tokens, model.ctx),
        "context_length_exceeded");

  // OpenAI's defaults: temperature 1, top_p 1; top_k and
  // repetition_penalty are the common extensions (off by default).
  ops::SamplingParams& s = request->sampling;
  s.temperature = static_cast<float>(number(body, "temperature", 0.0, 2.0).value_or(1.0));
  s.greedy = s.temperature == 0.0f;
  if (s.greedy) s.temperature = 1.0f;
  s.top_p = static_cast<float>(number(body, "top_p", 0.0, 1.0).value_or(1.0));
  if (s.top_p == 0.0f) bad("'top_p' must be greater than 0");
  s.top_k = static_cast<int>(integer(body, "top_k", 0, 1 << 30).value_or(0));
  s.repetition_penalty = static_cast<float>(number(body, "repetition_penalty", 1e-3, 100.0).value_or(1.0));
  // Without a seed each request draws its own, so equal requests differ as
  // with OpenAI; with one, the same request gives the same tokens.
  const std::optional<int64_t> seed = integer(body, "seed", INT64_MIN, INT64_MAX);
  s.seed = seed ? static_cast<uint64_t>(*seed) : std::random_device{}() * 0x9E3779B97F4A7C15ull;
  try {
    ops::validate(s);
  } catch (const std::exception& e) {
    bad(e.what());
  }
  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& stop = body["stop"];
    if (stop.is_string()) {
      request->stop.push_back(stop.get<std::string>());
    } else if (stop.is_array() && stop.size() <= 4 &&
               std::all_of(stop.begin(), stop.end(), [](const json& x) { return x.is_string(); })) {
      for (const json& x : stop) request->stop.push_back(x.get<std::string>());
    } else {
      bad("'stop' must be a string or a list of up to 4 strings");
    }
    if (!request->stop.empty() && !model.tokenizer) bad("'stop' needs the model's tokenizer");
  }
  parsed.request = std::move(request);
  return parsed;
}

namespace {
int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
json finish_value(const std::string& reason) { return reason.empty() ? json(nullptr) : json(reason); }
}  // namespace

json completion_response(const std::string& id, const std::string& model, bool chat, const std::string& text,
                         const std::string& finish_reason, int64_t prompt_tokens, int64_t completion_tokens) {
  json choice = {{"index", 0}, {"finish_reason", finish_value(finish_reason)}, {"logprobs", nullptr}};
  if (chat) choice["message"] = {{"role", "assistant"}, {"content", text}};
  else choice["text"] = text;
  return {{"id", id},
          {"object", chat ? "chat.completion" : "text_completion"},
          {"created", now_seconds()},
          {"model", model},
          {"choices", json::array({choice})},
          {"usage",
           {{"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", prompt_tokens + completion_tokens}}}};
}

json stream_chunk(const std::string& id, const std::string& model, bool chat, const std::string& text,
                  const std::string& finish_reason, bool first) {
  json choice = {{"index", 0}, {"finish_reason", finish_value(finish_reason)}, {"logprobs", nullptr}};
  if (chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && finish_reason.empty())) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  return {{"id", id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", now_seconds()},
          {"model", model},
          {"choices", json::array({choice})}};
}

}  // namespace vkinfer::server
