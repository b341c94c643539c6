// libFuzzer target: the server's request bodies (server/openai_api's
// parse_request) from arbitrary bytes, as /v1/completions and as
// /v1/chat/completions. The result is a request that fits the model (ids in
// the vocabulary, prompt + max_tokens within the context, sampling values
// the engine accepts, logprobs off or 0..20) or an ApiError with a 4xx
// status; anything else is a finding. The model has no tokenizer here, so
// text prompts and chats are refused and token-id prompts go through every
// check (logprobs and top_logprobs are checked before the prompt, so chat
// bodies reach them too).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "server/openai_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vkinfer::server::ApiError;
  const nlohmann::json body = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  vkinfer::server::ServedModel model;
  model.name = "tiny";
  model.ctx = 64;
  model.vocab_size = 100;
  for (bool chat : {false, true}) {
    try {
      const auto parsed = vkinfer::server::parse_request(body, model, chat);
      const auto& r = *parsed.request;
      if (r.prompt.empty() || int64_t(r.prompt.size()) + r.max_new_tokens > model.ctx || r.max_new_tokens < 1)
        __builtin_trap();
      for (int32_t id : r.prompt)
        if (id < 0 || id >= model.vocab_size) __builtin_trap();
      vkinfer::ops::validate(r.sampling);
      if (r.logprobs < -1 || r.logprobs > vkinfer::ops::kMaxTopLogprobs) __builtin_trap();
    } catch (const ApiError& e) {
      if (e.status != 400 && e.status != 404) __builtin_trap();
    }
  }
  return 0;
}
