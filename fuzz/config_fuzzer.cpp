// libFuzzer target: ModelConfig::parse on arbitrary JSON. Bytes that are not
// JSON at all are skipped (ModelConfig::load reports those before parse()
// runs); everything else must yield a config or a typed vkinfer::Error. Any
// other exception (a nlohmann type_error from a field of the wrong type, an
// std::out_of_range) escapes and libFuzzer reports it as a crash, because the
// CLI would print it without naming the file.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json raw = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (raw.is_discarded()) return 0;
  try {
    const vkinfer::ModelConfig config = vkinfer::ModelConfig::parse(raw, "config.json");
    // The accessors must agree with the kind that was parsed.
    if (config.is_decoder()) {
      const auto& d = config.decoder();
      if (d.num_heads <= 0 || d.hidden_size <= 0 || d.num_layers <= 0 || d.vocab_size <= 0) __builtin_trap();
    } else {
      const auto& b = config.bert();
      if (b.num_heads <= 0 || b.hidden_size <= 0 || b.num_layers <= 0 || b.vocab_size <= 0) __builtin_trap();
    }
  } catch (const vkinfer::Error&) {
  }
  return 0;
}
