// Read-only, zero-copy access to one .safetensors file.
//
// The file is mmap'd and its JSON header is validated completely before any
// tensor is handed out: every offset, shape and dtype is checked against the
// file, so later code can index `TensorInfo::data` without re-checking. The
// file is never trusted; every failure is a vkinfer::Error whose one-line
// message names the file (and the tensor, where there is one).
//
// Format: [u64 little-endian header length N][N bytes of JSON][data area].
// The header maps tensor names to {"dtype", "shape", "data_offsets": [begin,
// end]} with offsets relative to the data area, plus an optional
// "__metadata__" map of strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/mapped_file.h"

#include "engine/core/dtype.h"

namespace vkinfer {

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;  // row-major, each dim >= 0
  const uint8_t* data;         // inside the mmap; not aligned to the dtype
  size_t byte_size;            // == product(shape) * dtype_size(dtype)
};

class SafetensorsFile {
 public:
  // Throws kBadFile for any structural problem, kUnsupported for a dtype
  // vkinfer has never heard of.
  static std::unique_ptr<SafetensorsFile> open(const std::filesystem::path& path);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Tensors in F32/F16/BF16, keyed by name.
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }

  // nullptr when the file has no readable tensor of that name.
  const TensorInfo* find(const std::string& name) const;

  // Tensors stored in a valid safetensors dtype that vkinfer does not read
  // (e.g. BERT's I64 `position_ids` buffer in older exports): name -> dtype.
  // They are validated like the others but never handed out, so a file that
  // carries such a buffer still opens.
  const std::map<std::string, std::string>& unreadable() const { return unreadable_; }

  // The "__metadata__" string map (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;

  std::filesystem::path path_;
  MappedFile map_;
  const uint8_t* mapping_ = nullptr;  // map_.data()
  size_t mapping_size_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> unreadable_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace vkinfer
