// libFuzzer target: generation_config.json's eos ids
// (parse_generation_eos_ids) from arbitrary bytes. The result is nullopt, ids
// inside the vocabulary, or a vkinfer::Error; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/core/error.h"
#include "engine/model/generation_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr int64_t kVocab = 1000;
  try {
    const auto ids = vkinfer::parse_generation_eos_ids(
        std::string_view(reinterpret_cast<const char*>(data), size), "generation_config.json", kVocab);
    if (ids)
      for (int id : *ids)
        if (id < 0 || id >= kVocab) __builtin_trap();
  } catch (const vkinfer::Error&) {
  }
  return 0;
}
