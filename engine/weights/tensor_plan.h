// A model family's tensors as a plan: per tensor its canonical name, its
// layer, how tensor parallelism splits it, and where its rows come from in a
// Hugging Face checkpoint. Model code writes only this table (names and
// roles); slices() turns an entry and a rank's ranges into the windows the
// weight loader reads, the same for every family, so the split rules live in
// one place and a new source (a shard folder, a GGUF file) needs no model
// code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/weights/weight_loader.h"

namespace vkinfer {

// How tensor parallelism divides a tensor (Megatron).
enum class Split : uint8_t {
  kReplicated,  // every rank holds all of it
  kColumn,      // output rows divided: this rank's heads or MLP columns
  kRow,         // input columns divided; a row-parallel bias lives on rank 0 only
  kVocab,       // vocabulary rows divided, zero-padded to the rank's padded slice
};

// Which of the model's dimensions an axis of a part runs along, so a rank's
// share of it can be looked up (SplitRanges).
enum class Dim : uint8_t { kWhole, kQueryHeads, kKvHeads, kIntermediate, kVocab };

// One source stretch of a planned tensor. Parts stack along the output rows
// (q, k and v into one qkv matrix). Along its split dimension the part holds
// `unit` rows (or elements) per index of the dimension, index i starting at
// source row offset + i * stride (stride = unit when contiguous; GPT-NeoX
// interleaves q, k and v per head, so its parts step over 3 head widths).
struct PlannedPart {
  std::string source;          // the checkpoint tensor
  std::vector<int64_t> shape;  // its whole shape as stored, checked before reading
  Dim dim = Dim::kWhole;       // what the split axis indexes
  int64_t count = 0;           // kWhole: indices this part holds (others: the rank's range)
  int64_t unit = 1;
  int64_t stride = 0;          // 0: unit
  int64_t offset = 0;
  // For --quant (quant_recipe.h): what kind of matrix this part is; q, k
  // and v stacked from three tensors are three kinds, as llama.cpp
  // quantizes attn_v apart from attn_q and attn_k.
  QuantTensorKind quant_kind = QuantTensorKind::kOther;
  bool quantize = true;
};

enum class TensorKind : uint8_t { kMatrix, kVector };

struct PlannedTensor {
  std::string key;   // canonical name, e.g. "layers.3.qkv" (shard files use it)
  int role = 0;      // which member of the model's weights it fills (the family's enum)
  int64_t layer = -1;  // -1: not in a layer
  TensorKind kind = TensorKind::kMatrix;
  Split split = Split::kReplicated;
  std::vector<PlannedPart> parts;
  // Matrices: the whole tensor's columns (inputs) and rows (outputs, the
  // parts' sum) in nn.Linear orientation [out, in]; a row split divides the
  // columns along `col_dim`. `conv1d`: GPT-2 stores [in, out].
  int64_t cols = 0;
  Dim col_dim = Dim::kWhole;
  int64_t col_unit = 1;
  bool conv1d = false;
  // Vectors: added to every element on its way to the device (Gemma's norm
  // gains are 1 + w); shards keep the checkpoint's values.
  float add = 0.0f;
};

// A rank's share of each splittable dimension, in indices of that dimension
// (heads, MLP columns, vocabulary rows). kWhole is never split.
struct DimRange {
  int64_t begin = 0;
  int64_t count = 0;
};
struct SplitRanges {
  DimRange query_heads, kv_heads, intermediate, vocab;
  int64_t vocab_padding = 0;  // zero rows after this rank's vocabulary rows
  bool holds_row_bias = true;  // rank 0: adds the row-parallel biases once
  const DimRange& operator[](Dim dim) const;
};

// The rows of `tensor` this rank reads, as loader windows (matrices), and
// the zero rows to append. A row-split vector (a row-parallel bias) on a
// rank other than 0 has no windows: that rank holds no copy.
struct TensorSlices {
  std::vector<LinearSlice> windows;
  int64_t pad_rows = 0;
};
TensorSlices slices(const PlannedTensor& tensor, const SplitRanges& ranges);

// Loads one planned tensor through the loader (device upload, shard write or
// shard read, as the loader's mode says).
Weight load_matrix(const WeightLoader& loader, const PlannedTensor& tensor, const SplitRanges& ranges);
Tensor load_vector(const WeightLoader& loader, const PlannedTensor& tensor, const SplitRanges& ranges);

}  // namespace vkinfer
