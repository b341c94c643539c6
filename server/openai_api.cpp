// Request checks mirror OpenAI's documented ranges; fields vkinfer cannot
// honour (presence/frequency penalties, n > 1, best_of > 1, echo, a suffix,
// logit_bias, tools and function calling, a JSON response_format) are
// refused with a 400 that names them rather than ignored. Fields that do not
// change the tokens (user, metadata, ...) are accepted and ignored.
//
// logprobs: /v1/completions takes an integer 0..20 (OpenAI stops at 5;
// vLLM and llama.cpp allow 20, the sampler's limit), chat takes
// `logprobs: true` with `top_logprobs` 0..20 (top_logprobs alone is a 400,
// as OpenAI answers). The values are the model's raw distribution: the
// log-softmax of the logits before repetition penalty, temperature, top-k
// and top-p (OpenAI's and vLLM's default). Reported tokens are exactly the
// ones usage counts; the HTTP layer decides which chunk carries each.
#include "server/openai_api.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <random>

#include "engine/text/tokenizer_decoder.h"
#include "engine/text/tokenizer_pretokenizer.h"
#include "engine/text/unicode.h"

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

// -1 when off. Completions: `logprobs` is the number of alternatives.
int completion_logprobs(const json& body) {
  if (body.contains("logprobs") && body["logprobs"].is_boolean())
    bad("'logprobs' must be an integer in [0, 20] on /v1/completions (true/false is the chat form)");
  return static_cast<int>(integer(body, "logprobs", 0, ops::kMaxTopLogprobs).value_or(-1));
}

// Chat: `logprobs` switches them on, `top_logprobs` counts alternatives.
int chat_logprobs(const json& body) {
  const bool on = flag(body, "logprobs");
  const std::optional<int64_t> top = integer(body, "top_logprobs", 0, ops::kMaxTopLogprobs);
  if (top && !on) bad("'top_logprobs' needs 'logprobs': true");
  return on ? static_cast<int>(top.value_or(0)) : -1;
}

}  // namespace

json ApiError::body() const {
  return {{"error", {{"message", what()}, {"type", type}, {"param", nullptr},
                     {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

namespace {

// A field that is present and not its "off" value (null, false, "", an
// empty list or object).
bool given(const json& body, const char* key) {
  if (!body.contains(key)) return false;
  const json& value = body[key];
  return !(value.is_null() || value == false || (value.is_string() && value.get_ref<const std::string&>().empty()) ||
           ((value.is_array() || value.is_object()) && value.empty()));
}

// Fields that would change what is generated and that vkinfer does not do.
void refuse_unsupported(const json& body) {
  if (given(body, "suffix")) bad("'suffix' (insertion) is not supported by vkinfer");
  if (given(body, "logit_bias")) bad("'logit_bias' is not supported by vkinfer");
  for (const char* key : {"tools", "functions", "tool_choice", "function_call"})
    if (given(body, key) && !(body[key].is_string() && body[key] == "none"))
      bad(fmt::format("'{}' (tool and function calling) is not supported by vkinfer", key));
  if (given(body, "response_format")) {
    const json& format = body["response_format"];
    if (!format.is_object() || !format.contains("type") || format["type"] != "text")
      bad("'response_format' must be {\"type\": \"text\"}: vkinfer does not constrain output to JSON");
  }
}

}  // namespace

void check_body_and_model(const json& body, const std::string& served_name) {
  if (!body.is_object()) bad(fmt::format("the body must be a JSON object, not a JSON {}", body.type_name()));
  if (body.contains("model") && !body["model"].is_null()) {
    if (!body["model"].is_string()) bad("'model' must be a string");
    if (body["model"].get<std::string>() != served_name)
      throw ApiError(404, fmt::format("the model '{}' does not exist; this server serves '{}'",
                                      body["model"].get<std::string>(), served_name),
                     "invalid_request_error", "model_not_found");
  }
}

ParsedRequest parse_request(const json& body, const ServedModel& model, bool chat) {
  check_body_and_model(body, model.name);
  if (auto n = integer(body, "n", 1, 1 << 20); n && *n != 1) bad("'n' must be 1: vkinfer returns one choice");
  for (const char* key : {"presence_penalty", "frequency_penalty"})
    if (auto x = number(body, key, -2.0, 2.0); x && *x != 0.0)
      bad(fmt::format("'{}' is not supported by vkinfer; use 'repetition_penalty'", key));
  if (body.contains("best_of") && !body["best_of"].is_null() && body["best_of"] != 1) bad("'best_of' must be 1");
  if (flag(body, "echo")) bad("'echo' is not supported: vkinfer returns the completion without its prompt");
  refuse_unsupported(body);
  const int logprobs = chat ? chat_logprobs(body) : completion_logprobs(body);

  ParsedRequest parsed;
  parsed.chat = chat;
  parsed.stream = flag(body, "stream");
  if (body.contains("stream_options") && !body["stream_options"].is_null()) {
    const json& options = body["stream_options"];
    if (!options.is_object()) bad("'stream_options' must be an object");
    if (!parsed.stream) bad("'stream_options' is only allowed with 'stream': true");
    parsed.include_usage = flag(options, "include_usage");
  }
  auto request = std::make_shared<ServeRequest>();
  request->logprobs = logprobs;
  request->prompt = chat ? chat_prompt(body, model) : completion_prompt(body, model);
  const int64_t prompt_tokens = static_cast<int64_t>(request->prompt.size());
  if (prompt_tokens == 0) bad("the prompt is empty");
  const int64_t total_limit = model.max_total_tokens > 0 ? std::min(model.max_total_tokens, model.ctx) : model.ctx;
  const int64_t prompt_limit =
      model.max_prompt_tokens > 0 ? std::min(model.max_prompt_tokens, total_limit) : total_limit;
  if (prompt_tokens >= prompt_limit)
    bad(fmt::format("the prompt has {} tokens; this server takes prompts of up to {} tokens",
                    prompt_tokens, prompt_limit - 1),
        "context_length_exceeded");
  // OpenAI: 16 for completions; a chat runs until the context is full.
  const char* max_key = chat && body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const std::optional<int64_t> max_tokens = integer(body, max_key, 1, int64_t(1) << 40);
  request->max_new_tokens = max_tokens.value_or(chat ? total_limit - prompt_tokens : 16);
  if (prompt_tokens + request->max_new_tokens > total_limit)
    bad(total_limit < model.ctx
            ? fmt::format("the prompt ({} tokens) plus '{}' ({}) exceeds this server's limit of {} tokens per "
                          "request", prompt_tokens, max_key, request->max_new_tokens, total_limit)
            : fmt::format("the prompt ({} tokens) plus '{}' ({}) exceeds the context of {} tokens", prompt_tokens,
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

using ordered = nlohmann::ordered_json;

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
ordered finish_value(const std::string& reason) { return reason.empty() ? ordered(nullptr) : ordered(reason); }

// A token's own bytes, for one whose decoded text is U+FFFD because it is
// a piece of a character: a SentencePiece byte token ("<0xE2>") is that
// byte, a byte-level BPE token (GPT-2's printable stand-ins) the bytes its
// characters stand for. Empty for any other token.
std::string raw_token_bytes(const Tokenizer& tokenizer, int32_t id) {
  const std::string piece = tokenizer.id_to_token(id);
  if (const int byte = tokenizer_detail::byte_token_value(piece); byte >= 0) return std::string(1, char(byte));
  static const std::map<char32_t, char> stand_ins = [] {
    std::map<char32_t, char> inverse;
    for (int b = 0; b < 256; ++b) inverse[tokenizer_detail::byte_to_char()[b]] = char(b);
    return inverse;
  }();
  if (!unicode::is_valid_utf8(piece)) return "";
  std::string out;
  for (char32_t cp : unicode::to_code_points(piece)) {
    const auto it = stand_ins.find(cp);
    if (it == stand_ins.end()) return "";
    out += it->second;
  }
  return out;
}

// A token's text in context: what decoding it after `previous` adds (so
// SentencePiece's leading space survives), or its text alone when that
// does not extend the previous token's text. Decoding turns byte tokens
// that do not form whole characters into U+FFFD (one per token, as HF
// does); such a token is described by its own bytes instead (OpenAI's
// "bytes"), so that distinct tokens keep distinct names.
std::string token_bytes(const Tokenizer& tokenizer, int32_t previous, const std::string& previous_text,
                        int32_t id) {
  std::string text;
  if (previous >= 0) {
    const std::string both = tokenizer.decode({previous, id});
    if (both.compare(0, previous_text.size(), previous_text) == 0) text = both.substr(previous_text.size());
  }
  if (text.empty()) text = tokenizer.decode({id});
  if (text.find("\xEF\xBF\xBD") != std::string::npos) {
    std::string raw = raw_token_bytes(tokenizer, id);
    if (!raw.empty()) return raw;
  }
  return text;
}

std::string token_name(const std::string& bytes) {
  if (unicode::is_valid_utf8(bytes)) return bytes;
  std::string name = "bytes:";
  for (unsigned char c : bytes) name += fmt::format("\\x{:02x}", c);
  return name;
}

double logprob_value(float logprob) { return std::isfinite(logprob) ? double(logprob) : -9999.0; }

// Names the tokens of one position, in context.
class Namer {
 public:
  Namer(const Tokenizer* tokenizer, int32_t previous)
      : tokenizer_(tokenizer),
        previous_(previous),
        previous_text_(tokenizer && previous >= 0 ? tokenizer->decode({previous}) : std::string()) {}
  std::string bytes(int32_t id) const {
    return tokenizer_ ? token_bytes(*tokenizer_, previous_, previous_text_, id) : fmt::format("token_id:{}", id);
  }

 private:
  const Tokenizer* tokenizer_;
  int32_t previous_;
  std::string previous_text_;
};

ordered byte_values(const std::string& bytes) {
  ordered out = ordered::array();
  for (unsigned char c : bytes) out.push_back(int(c));
  return out;
}

}  // namespace

ordered logprobs_json(const std::vector<ReportedToken>& tokens, bool chat, int top_n, const Tokenizer* tokenizer) {
  if (chat) {
    ordered content = ordered::array();
    for (const ReportedToken& t : tokens) {
      const Namer namer(tokenizer, t.previous);
      auto entry = [&](const ops::TokenLogprobs::Entry& e) {
        const std::string bytes = namer.bytes(e.id);
        return ordered{{"token", token_name(bytes)}, {"logprob", logprob_value(e.logprob)}, {"bytes", byte_values(bytes)}};
      };
      ordered item = entry(t.logprobs.chosen);
      ordered top = ordered::array();
      for (int k = 0; k < std::min(top_n, int(t.logprobs.count)); ++k) top.push_back(entry(t.logprobs.top[k]));
      item["top_logprobs"] = std::move(top);
      content.push_back(std::move(item));
    }
    return {{"content", std::move(content)}};
  }
  ordered names = ordered::array(), values = ordered::array(), tops = ordered::array(), offsets = ordered::array();
  for (const ReportedToken& t : tokens) {
    const Namer namer(tokenizer, t.previous);
    names.push_back(token_name(namer.bytes(t.logprobs.chosen.id)));
    values.push_back(logprob_value(t.logprobs.chosen.logprob));
    // The alternatives best first, then the sampled token when it is not
    // among them. Two ids with one name keep the likelier's value.
    ordered top = ordered::object();
    auto add = [&](const ops::TokenLogprobs::Entry& e) {
      const std::string name = token_name(namer.bytes(e.id));
      if (!top.contains(name)) top[name] = logprob_value(e.logprob);
    };
    bool chosen_listed = false;
    for (int k = 0; k < std::min(top_n, int(t.logprobs.count)); ++k) {
      add(t.logprobs.top[k]);
      chosen_listed = chosen_listed || t.logprobs.top[k].id == t.logprobs.chosen.id;
    }
    if (!chosen_listed) add(t.logprobs.chosen);
    tops.push_back(std::move(top));
    offsets.push_back(t.text_offset);
  }
  return {{"tokens", std::move(names)}, {"token_logprobs", std::move(values)}, {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offsets)}};
}

namespace {

ordered usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

}  // namespace

ordered usage_chunk(const std::string& id, const std::string& model, bool chat, int64_t prompt_tokens,
                    int64_t completion_tokens) {
  return {{"id", id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", now_seconds()},
          {"model", model},
          {"choices", ordered::array()},
          {"usage", usage_json(prompt_tokens, completion_tokens)}};
}

ordered completion_response(const std::string& id, const std::string& model, bool chat, const std::string& text,
                            const std::string& finish_reason, int64_t prompt_tokens, int64_t completion_tokens,
                            const ordered& logprobs) {
  ordered choice = {{"index", 0}};
  if (chat) choice["message"] = {{"role", "assistant"}, {"content", text}};
  else choice["text"] = text;
  choice["logprobs"] = logprobs;
  choice["finish_reason"] = finish_value(finish_reason);
  return {{"id", id},
          {"object", chat ? "chat.completion" : "text_completion"},
          {"created", now_seconds()},
          {"model", model},
          {"choices", ordered::array({choice})},
          {"usage", usage_json(prompt_tokens, completion_tokens)}};
}

ordered stream_chunk(const std::string& id, const std::string& model, bool chat, const std::string& text,
                     const std::string& finish_reason, bool first, const ordered& logprobs) {
  ordered choice = {{"index", 0}};
  if (chat) {
    ordered delta = ordered::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && finish_reason.empty())) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  choice["logprobs"] = logprobs;
  choice["finish_reason"] = finish_value(finish_reason);
  return {{"id", id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", now_seconds()},
          {"model", model},
          {"choices", ordered::array({choice})}};
}

}  // namespace vkinfer::server
