// All the weights of one Hugging Face model folder, behind one name index.
//
// A folder holds either `model.safetensors` or a sharded set described by
// `model.safetensors.index.json`. Every file is mmap'd and validated when the
// Checkpoint opens; afterwards `read()` copies just the requested window of a
// tensor out of the mapping, converting dtype on the way, so uploading a
// tensor-parallel slice never materialises the whole tensor on the host.
// PyTorch pickles (`pytorch_model.bin`) are refused: unpickling runs code, so
// they are converted once by tools/convert_to_safetensors.py instead.
//
// A path to a `.gguf` file opens a GGUF checkpoint instead (gguf_checkpoint.h):
// it presents Hugging Face names and shapes, so the per-family weight code is
// the same for both; read() dequantizes, read_blocks() hands out raw blocks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/io/ggml_types.h"
#include "engine/io/safetensors.h"

namespace vkinfer {

class GgufCheckpoint;

class Checkpoint {
 public:
  // Throws kBadFile (missing/corrupt files, inconsistent index) or
  // kUnsupported (only pytorch_model.bin present; unknown dtype).
  // `dir` may also be a `.gguf` file.
  static Checkpoint open(const std::filesystem::path& dir);

  Checkpoint(Checkpoint&&) noexcept = default;
  Checkpoint& operator=(Checkpoint&&) noexcept = default;

  const std::filesystem::path& dir() const { return dir_; }

  // True for tensors vkinfer can read (F32/F16/BF16).
  bool has(const std::string& name) const;

  // kMissingTensor naming the tensor and folder when absent; kUnsupported when
  // the tensor exists in a dtype vkinfer does not read.
  const TensorInfo& info(const std::string& name) const;

  // Readable tensor names, sorted.
  std::vector<std::string> names() const;

  // Copies the window [row_begin, row_begin + row_count) x
  // [col_begin, col_begin + col_count) of a tensor into `dst`, converting to
  // `dst_dtype` (kF32 or kF16). A 1-D tensor of n elements is one row [1, n];
  // a 2-D tensor is [rows, cols]. Row r of the window lands at
  // dst + r * dst_row_stride elements. Throws kInvalidArgument for a window
  // outside the tensor and kShapeMismatch for tensors of rank > 2.
  void read(const std::string& name, DType dst_dtype, void* dst, int64_t row_begin,
            int64_t row_count, int64_t col_begin, int64_t col_count,
            int64_t dst_row_stride) const;

  // The whole tensor (any rank) as row-major f32.
  std::vector<float> read_f32(const std::string& name) const;

  // The GGUF block type of a quantized tensor (Q8_0, Q4_K, ...); nullopt for plain tensors
  // (F32/F16/BF16), of a safetensors folder or a GGUF file alike.
  std::optional<GgmlType> block_type(const std::string& name) const;
  // Raw block bytes of rows [row_begin, +row_count) x columns [col_begin, +col_count) of a block
  // tensor, in nn.Linear orientation [out, in]: rows are output features even for tensors HF
  // stores as Conv1D [in, out]. col_begin/col_count must be multiples of the type's block size,
  // else kUnsupported naming the tensor, its type and the columns (a tensor-parallel degree that
  // cannot keep whole blocks). q/k rows come un-permuted, as read() gives them. Row r of the
  // window goes to dst + r * dst_row_bytes.
  void read_blocks(const std::string& name, int64_t row_begin, int64_t row_count, int64_t col_begin,
                   int64_t col_count, uint8_t* dst, size_t dst_row_bytes) const;

  // The GGUF side when this checkpoint is a `.gguf` file (its metadata feeds the config and
  // tokenizer); nullptr for a safetensors folder.
  const GgufCheckpoint* gguf() const { return gguf_.get(); }

 private:
  struct Entry {
    const TensorInfo* tensor;      // owned by `file`
    const SafetensorsFile* file;   // for messages
  };

  Checkpoint() = default;
  void add_file(std::unique_ptr<SafetensorsFile> file);
  const Entry& entry(const std::string& name) const;

  std::filesystem::path dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, Entry> tensors_;
  std::map<std::string, std::string> unreadable_;  // name -> "dtype in file"
  // shared_ptr: its deleter is bound where it is made, so GgufCheckpoint can stay incomplete here.
  std::shared_ptr<const GgufCheckpoint> gguf_;
};

}  // namespace vkinfer
