// Reads this rank's slices of checkpoint tensors straight from the mmap and
// uploads them as device weights. Shapes are checked against what the config
// implies before anything is read; an error names the tensor and both shapes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/io/checkpoint.h"
#include "engine/weights/quant_recipe.h"
#include "engine/weights/tensor.h"

namespace vkinfer {

// Rows [row_begin, +row_count) x input columns [col_begin, +col_count) of a
// linear weight in nn.Linear orientation [out, in]. `conv1d` marks GPT-2's
// Conv1D, stored transposed as [in, out].
struct LinearSlice {
  std::string name;
  bool conv1d = false;
  int64_t row_begin = 0, row_count = 0;
  int64_t col_begin = 0, col_count = 0;
  // What --quant needs to pick this window's block type (quant_recipe.h):
  // the matrix's kind and layer; `quantize` false keeps it in --dtype
  // (learned position tables, read row by row like an embedding but never
  // quantized by llama.cpp either).
  QuantTensorKind quant_kind = QuantTensorKind::kOther;
  int64_t layer = -1;
  bool quantize = true;
};

// --quant: the recipe and the model facts its per-tensor rules need.
struct LoadQuant {
  QuantRecipe recipe;
  int64_t num_layers = 0;
  bool tied_output = false;  // the embedding is also the LM head
};

// Where loaded tensors go. kDevice: this rank's slices to the device.
// kShardWrite: the same slices, under vkinfer's canonical names, to a
// ShardSink (what `vkinfer shard` writes per rank). kShardRead: the
// checkpoint is such a rank file, so whole tensors are read by canonical name
// and the HF slices only give the expected shape.
enum class LoadMode { kDevice, kShardWrite, kShardRead };

class ShardSink {
 public:
  virtual ~ShardSink() = default;
  virtual void add(const std::string& key, int64_t rows, int64_t cols, std::vector<float> data) = 0;
};

class WeightLoader {
 public:
  WeightLoader(const Checkpoint& checkpoint, vk::Device* device, DType dtype,
               LoadMode mode = LoadMode::kDevice, ShardSink* sink = nullptr)
      : checkpoint_(checkpoint), device_(device), dtype_(dtype), mode_(mode), sink_(sink) {}
  WeightLoader(const Checkpoint& checkpoint, vk::Device& device, DType dtype)
      : WeightLoader(checkpoint, &device, dtype) {}

  // The canonical-name forms (`key`) are what sharding needs; the others
  // serve models that are never sharded to disk.
  Weight linear(const std::string& key, const std::vector<LinearSlice>& slices, int64_t pad_rows = 0) const;
  // `add` is added to every element bound for the device (Gemma's norm
  // gains are 1 + w); a shard keeps the checkpoint's values, so a shard read
  // adds it as a checkpoint read does.
  Tensor vector(const std::string& key, const std::string& name, int64_t begin, int64_t count,
                int64_t pad = 0, float add = 0.0f) const;
  Tensor vectors(const std::string& key,
                 const std::vector<std::tuple<std::string, int64_t, int64_t>>& parts) const;
  LoadMode mode() const { return mode_; }

  // Fails unless `name` exists with exactly `shape`.
  void expect_shape(const std::string& name, const std::vector<int64_t>& shape) const;
  bool has(const std::string& name) const { return checkpoint_.has(name); }

  // Stacks the slices vertically (all with the same col_count) and appends
  // `pad_rows` zero rows (vocabulary padding).
  Weight linear(const std::vector<LinearSlice>& slices, int64_t pad_rows = 0) const;
  // A 1-D tensor's elements [begin, begin + count) (+ zero padding), fp32.
  Tensor vector(const std::string& name, int64_t begin, int64_t count, int64_t pad = 0) const;
  // Concatenation of several 1-D windows, fp32.
  Tensor vectors(const std::vector<std::tuple<std::string, int64_t, int64_t>>& parts) const;
  Tensor zeros(int64_t count) const;

  // Weight matrices bound for the device are quantized by `quant` (device
  // mode only; shards keep the checkpoint's values). Block tensors of a GGUF
  // file keep their blocks whatever this says.
  void set_quant(std::optional<LoadQuant> quant) { quant_ = std::move(quant); }

  DType dtype() const { return dtype_; }
  vk::Device& device() const { return *device_; }
  const Checkpoint& checkpoint() const { return checkpoint_; }

 private:
  void read_slice(const LinearSlice& slice, float* dst) const;
  std::vector<float> read_whole(const std::string& key, int64_t rows, int64_t cols) const;
  Weight to_device(int64_t rows, int64_t cols, const std::vector<float>& host) const;
  // The device format of one window: the file's block type, else --quant's
  // choice, else --dtype.
  WeightFormat format_for(const LinearSlice& slice) const;
  // Stacks the windows as parts of their own formats (block_formats.h).
  Weight to_device_parts(const std::vector<LinearSlice>& slices, int64_t pad_rows) const;
  Tensor vector_to_device(std::vector<float> host, float add = 0.0f) const;
  const Checkpoint& checkpoint_;
  vk::Device* device_;
  DType dtype_;
  LoadMode mode_;
  ShardSink* sink_;
  std::optional<LoadQuant> quant_;
};

}  // namespace vkinfer
