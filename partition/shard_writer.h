// Writes per-rank shard folders (the layout engine/io/shard_manifest.h
// describes): `vkinfer shard --tp N --out OUT`.
#pragma once

#include <filesystem>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/parallel/plan.h"

namespace vkinfer {

// Writes the shard folder of a decoder or a BERT encoder (its tensor plan,
// sliced per rank). With `stages`, one folder per (stage, rank), each
// holding only its stage's tensors. Peak host memory is about one rank's
// shard.
void write_shards(const std::filesystem::path& model, int tp, const std::filesystem::path& out,
                  DType dtype, const std::vector<StageRange>& stages = {});

}  // namespace vkinfer
