// libFuzzer target: the server's /v1/embeddings bodies (server/embeddings_api's
// parse_embedding_request) from arbitrary bytes, then the response built from
// them in both encodings. The result is inputs the encoder can run (at least
// one, none longer than max_seq_length, [CLS] first and [SEP] last, every id
// in the vocabulary) or an ApiError with a 4xx status; anything else is a
// finding. The tokenizer is a stand-in (one id per byte, wrapped and cut as
// sentence-transformers does), so every branch of the parser is reached
// without a model.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "server/embeddings_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vkinfer::server::ApiError;
  const nlohmann::json body = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;
  vkinfer::server::EmbeddingModel model;
  model.name = "tiny";
  model.dim = 8;
  model.vocab_size = 100;
  model.max_seq_length = 6;
  model.cls_id = 2;
  model.sep_id = 3;
  model.max_inputs = 16;
  model.tokenize = [&model](const std::string& text) {
    std::vector<int32_t> ids = {model.cls_id};
    for (unsigned char c : text)
      if (int64_t(ids.size()) < model.max_seq_length - 1) ids.push_back(4 + c % 90);
    ids.push_back(model.sep_id);
    return ids;
  };
  try {
    const auto request = vkinfer::server::parse_embedding_request(body, model);
    if (request.inputs.empty() || request.inputs.size() > model.max_inputs) __builtin_trap();
    std::vector<std::vector<float>> vectors;
    for (const auto& ids : request.inputs) {
      if (ids.size() < 2 || int64_t(ids.size()) > model.max_seq_length) __builtin_trap();
      if (ids.front() != model.cls_id || ids.back() != model.sep_id) __builtin_trap();
      for (int32_t id : ids)
        if (id < 0 || id >= model.vocab_size) __builtin_trap();
      vectors.push_back(std::vector<float>(size_t(model.dim), float(ids.size()) / 3.0f));
    }
    const auto response = vkinfer::server::embedding_response(model.name, vectors, request.base64, request.tokens());
    if (response["data"].size() != vectors.size() || response["usage"]["prompt_tokens"] != request.tokens())
      __builtin_trap();
    // 8 floats are 32 bytes: 44 base64 characters with one '=' of padding.
    if (request.base64 && response["data"][0]["embedding"].get<std::string>().size() != 44) __builtin_trap();
  } catch (const ApiError& e) {
    if (e.status != 400 && e.status != 404) __builtin_trap();
  }
  return 0;
}
