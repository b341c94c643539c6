// `input` takes OpenAI's four forms: a string, a list of strings, a list of
// token ids, a list of lists of token ids. Token ids are read as the
// tokenizer's output for some text without specials (what OpenAI's tiktoken
// ids are), so they get what sentence-transformers would add to that text:
// [CLS] first, [SEP] last, the middle cut to max_seq_length - 2.
#include "server/embeddings_api.h"

#include <fmt/core.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

namespace vkinfer::server {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& message, const std::string& code = "") {
  throw ApiError(400, message, "invalid_request_error", code);
}

bool is_id_list(const json& value) {
  return value.is_array() && !value.empty() &&
         std::all_of(value.begin(), value.end(), [](const json& x) { return x.is_number(); });
}

std::vector<int32_t> text_ids(const json& text, size_t index, const EmbeddingModel& model) {
  const std::string& s = text.get_ref<const std::string&>();
  // OpenAI refuses empty strings; whitespace alone is a text (it embeds as [CLS] [SEP]).
  if (s.empty()) bad(fmt::format("'input'[{}] is an empty string; every input must have text", index));
  try {
    return model.tokenize(s);
  } catch (const std::exception& e) {
    bad(fmt::format("'input'[{}] cannot be tokenized: {}", index, e.what()));
  }
}

std::vector<int32_t> wrapped_ids(const json& list, size_t index, const EmbeddingModel& model) {
  if (model.cls_id < 0 || model.sep_id < 0)
    bad("token-id inputs need a tokenizer that wraps a text in [CLS] ... [SEP], and this model's does "
        "not; send text");
  const size_t keep = static_cast<size_t>(std::max<int64_t>(model.max_seq_length - 2, 0));
  std::vector<int32_t> ids = {model.cls_id};
  for (const json& id : list) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= model.vocab_size)
      bad(fmt::format("'input'[{}] holds {}, which is not a token id in [0, {})", index, id.dump(),
                      model.vocab_size));
    if (ids.size() <= keep) ids.push_back(static_cast<int32_t>(id.get<int64_t>()));
  }
  ids.push_back(model.sep_id);
  return ids;
}

std::vector<std::vector<int32_t>> parse_input(const json& body, const EmbeddingModel& model) {
  if (!body.contains("input") || body["input"].is_null()) bad("'input' is required");
  const json& input = body["input"];
  std::vector<std::vector<int32_t>> out;
  if (input.is_string()) {
    out.push_back(text_ids(input, 0, model));
    return out;
  }
  const char* shapes = "'input' must be a string, a list of strings, a list of token ids or a list of "
                       "lists of token ids";
  if (!input.is_array()) bad(fmt::format("{}, not a JSON {}", shapes, input.type_name()));
  if (input.empty()) bad("'input' is an empty list; send at least one input");
  if (is_id_list(input)) {
    out.push_back(wrapped_ids(input, 0, model));
    return out;
  }
  if (input.size() > model.max_inputs)
    bad(fmt::format("'input' has {} entries; this server takes at most {} per request", input.size(),
                    model.max_inputs));
  const bool texts = input[0].is_string();
  for (size_t i = 0; i < input.size(); ++i) {
    const json& item = input[i];
    if (texts && item.is_string()) out.push_back(text_ids(item, i, model));
    else if (!texts && is_id_list(item)) out.push_back(wrapped_ids(item, i, model));
    else if (!texts && item.is_array() && item.empty()) bad(fmt::format("'input'[{}] is an empty list of token ids", i));
    else bad(fmt::format("{}; 'input'[{}] is {}", shapes, i, item.dump().substr(0, 80)));
  }
  return out;
}

// The double of the float's shortest decimal (0.08613984, not the float's
// exact 0.086139835417270660): float32() of it is the same float, and the
// JSON is as `vkinfer embed --json` writes it. A value from_chars cannot
// take (a subnormal) stays the float's exact double, which round-trips too.
double shortest_decimal(float v) {
  double out = v;
  if (!std::isfinite(v)) return out;
  char text[32];
  const std::to_chars_result written = std::to_chars(text, text + sizeof text, v);  // shortest round-trip
  if (written.ec == std::errc()) std::from_chars(text, written.ptr, out);
  return out;
}

}  // namespace

int64_t EmbeddingRequest::tokens() const {
  int64_t n = 0;
  for (const std::vector<int32_t>& ids : inputs) n += static_cast<int64_t>(ids.size());
  return n;
}

EmbeddingRequest parse_embedding_request(const json& body, const EmbeddingModel& model) {
  check_body_and_model(body, model.name);
  EmbeddingRequest request;
  if (body.contains("encoding_format") && !body["encoding_format"].is_null()) {
    const json& format = body["encoding_format"];
    if (format == "base64") request.base64 = true;
    else if (format != "float") bad(fmt::format("'encoding_format' must be \"float\" or \"base64\", not {}", format.dump()));
  }
  if (body.contains("dimensions") && !body["dimensions"].is_null()) {
    const json& dimensions = body["dimensions"];
    if (!dimensions.is_number_integer()) bad(fmt::format("'dimensions' must be an integer, not {}", dimensions.dump()));
    // Only Matryoshka-trained models may be cut short; sentence-transformers
    // does not cut unless told, so neither does vkinfer.
    if (dimensions.is_number_unsigned() ? dimensions.get<uint64_t>() != uint64_t(model.dim)
                                        : dimensions.get<int64_t>() != model.dim)
      bad(fmt::format("'dimensions' is {}; this model's embeddings have {} dimensions and cannot be shortened",
                      dimensions.dump(), model.dim));
  }
  if (body.contains("user") && !body["user"].is_null() && !body["user"].is_string())
    bad("'user' must be a string");
  request.inputs = parse_input(body, model);
  return request;
}

std::string base64_float32(const std::vector<float>& values) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<uint8_t> bytes;
  bytes.reserve(values.size() * 4);
  for (float v : values) {
    const uint32_t bits = std::bit_cast<uint32_t>(v);
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<uint8_t>(bits >> shift));
  }
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t group = uint32_t(bytes[i]) << 16;
    if (n > 1) group |= uint32_t(bytes[i + 1]) << 8;
    if (n > 2) group |= uint32_t(bytes[i + 2]);
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += n > 1 ? kAlphabet[(group >> 6) & 63] : '=';
    out += n > 2 ? kAlphabet[group & 63] : '=';
  }
  return out;
}

json embedding_response(const std::string& model, const std::vector<std::vector<float>>& vectors, bool base64,
                        int64_t prompt_tokens) {
  json data = json::array();
  for (size_t i = 0; i < vectors.size(); ++i) {
    json embedding;
    if (base64) {
      embedding = base64_float32(vectors[i]);
    } else {
      embedding = json::array();
      for (float v : vectors[i]) embedding.push_back(shortest_decimal(v));
    }
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", std::move(embedding)}});
  }
  return {{"object", "list"},
          {"data", std::move(data)},
          {"model", model},
          {"usage", {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}}}};
}

}  // namespace vkinfer::server
