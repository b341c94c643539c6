// The tensors of one GGUF file seen as the Hugging Face checkpoint it was
// converted from: HF names, HF shapes and HF values, so that the per-family
// weight code reads a .gguf file exactly as it reads a safetensors folder.
// Checkpoint (checkpoint.h) delegates to this when opened on a .gguf file.
//
// Each GGUF tensor the architecture maps (gguf_names.h) is presented under
// its HF name; the converter's changes are undone on read: Llama q/k rows
// un-permuted, GPT-2 Conv1D weights transposed back to [in, out], GPT-NeoX
// qkv rows regrouped per head, Gemma norms minus the 1 the converter added.
// read() dequantizes block types to f32/f16 a row at a time; read_blocks()
// hands out raw blocks for the GPU block-weight path. Tensors the
// architecture does not map (llama's rope_freqs, ...) are not presented;
// the config code refuses the features they stand for.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core/dtype.h"
#include "engine/io/ggml_types.h"
#include "engine/io/gguf.h"
#include "engine/io/gguf_names.h"
#include "engine/io/safetensors.h"

namespace vkinfer {

// True when `path` is a regular file that starts with the GGUF magic.
bool is_gguf_file(const std::filesystem::path& path);

class GgufCheckpoint {
 public:
  // kBadFile for a malformed file (gguf.h) or a tensor whose shape cannot
  // carry its layout (e.g. q rows not a multiple of the heads);
  // kUnsupported for an architecture gguf_names.h does not map.
  static std::shared_ptr<const GgufCheckpoint> open(const std::filesystem::path& path);

  const GgufFile& file() const { return *file_; }
  const GgufArchitecture& architecture() const { return *arch_; }

  bool has(const std::string& hf_name) const { return entries_.count(hf_name) != 0; }
  // The HF view: HF shape; dtype F16/BF16 for such tensors, F32 for F32 and
  // block types (what read() yields at best precision); `data` points at the
  // bytes only where they are the HF tensor as-is (plain type, no layout
  // change), else nullptr. kMissingTensor naming the HF and GGUF names.
  const TensorInfo& info(const std::string& hf_name) const;
  std::vector<std::string> names() const;  // HF names, sorted

  // As Checkpoint::read / read_f32 / block_type / read_blocks.
  void read(const std::string& hf_name, DType dst_dtype, void* dst, int64_t row_begin, int64_t row_count,
            int64_t col_begin, int64_t col_count, int64_t dst_row_stride) const;
  std::vector<float> read_f32(const std::string& hf_name) const;
  std::optional<GgmlType> block_type(const std::string& hf_name) const;
  void read_blocks(const std::string& hf_name, int64_t row_begin, int64_t row_count, int64_t col_begin,
                   int64_t col_count, uint8_t* dst, size_t dst_row_bytes) const;

 private:
  struct Entry {
    const GgufTensor* tensor;
    GgufLayout layout;
    TensorInfo info;     // the HF view
    int64_t groups = 1;  // heads the row permutation works in (permute, neox)
  };

  GgufCheckpoint() = default;
  const Entry& entry(const std::string& hf_name) const;
  std::string where(const Entry& e) const;
  // The GGUF row (2-D) or element (1-D) that holds HF row/element `r`.
  int64_t source_index(const Entry& e, int64_t r, int64_t count) const;
  // Dequantizes GGUF row `row` of the tensor (all its columns) into `out`.
  void gguf_row(const Entry& e, int64_t row, float* out) const;

  std::unique_ptr<GgufFile> file_;
  const GgufArchitecture* arch_ = nullptr;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace vkinfer
