// OpenAI's /v1/embeddings request and response shapes for a sentence-
// embedding encoder: a body is checked field by field into the token ids the
// encoder runs (texts tokenized as sentence-transformers does, token-id
// inputs wrapped in [CLS] ... [SEP] and cut to max_seq_length), or an
// ApiError with OpenAI's `{"error": {...}}` body. Responses carry each vector
// as JSON floats or as base64 of its little-endian float32 bytes (what the
// official Python client asks for by default). No Vulkan here, so a fuzzer
// can drive it.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "server/openai_api.h"

namespace vkinfer::server {

// OpenAI takes at most 2048 inputs per embeddings request.
inline constexpr size_t kMaxEmbeddingInputs = 2048;

// What the server serves, as the embeddings parser needs it.
struct EmbeddingModel {
  std::string name;            // requests may name it
  int64_t dim = 0;             // width of every vector
  int64_t vocab_size = 0;      // token-id inputs must lie in [0, vocab_size)
  int64_t max_seq_length = 0;  // tokens per input with [CLS] and [SEP]; longer inputs are cut
  // sentence-transformers' ids for a text: stripped, lowercased when the
  // folder says so, [CLS]/[SEP] added, cut to max_seq_length. May throw
  // (std::exception) on text the tokenizer refuses.
  std::function<std::vector<int32_t>(const std::string& text)> tokenize;
  // The ids that wrap a token-id input as the tokenizer's post-processor
  // wraps a text; -1 when it does not add exactly these two (token-id inputs
  // are then refused).
  int32_t cls_id = -1, sep_id = -1;
  size_t max_inputs = kMaxEmbeddingInputs;
};

struct EmbeddingRequest {
  std::vector<std::vector<int32_t>> inputs;  // ids as the encoder runs them, in request order
  bool base64 = false;                       // encoding_format "base64"
  int64_t tokens() const;                    // the ids of every input: usage.prompt_tokens
};

// Throws ApiError: 400 for a bad field, 404 (model_not_found) for another
// model's name.
EmbeddingRequest parse_embedding_request(const nlohmann::json& body, const EmbeddingModel& model);

// Base64 of the vector's float32 values as little-endian bytes (numpy's
// frombuffer(base64.b64decode(s), dtype="float32")).
std::string base64_float32(const std::vector<float>& values);

// {"object": "list", "data": [{"object": "embedding", "index", "embedding"}],
// "model", "usage": {"prompt_tokens", "total_tokens"}}.
nlohmann::json embedding_response(const std::string& model, const std::vector<std::vector<float>>& vectors,
                                  bool base64, int64_t prompt_tokens);

}  // namespace vkinfer::server
