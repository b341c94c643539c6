// libFuzzer target: the shard manifest (vkinfer_shards.json) parser on
// arbitrary bytes. Every input must yield a manifest or a typed
// vkinfer::Error; a parsed manifest's fields must be in range (tp positive,
// stages contiguous from layer 0 and non-empty).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/core/error.h"
#include "engine/io/shard_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const vkinfer::ShardManifest manifest =
        vkinfer::parse_manifest(std::string_view(reinterpret_cast<const char*>(data), size), "vkinfer_shards.json");
    if (manifest.tp < 1) __builtin_trap();
    int64_t first = 0;
    for (const auto& stage : manifest.stages) {
      if (stage.first_layer != first || stage.end_layer <= stage.first_layer) __builtin_trap();
      first = stage.end_layer;
    }
  } catch (const vkinfer::Error&) {
  }
  return 0;
}
