// Writes a safetensors file (F32 or F16 tensors). Used by `vkinfer shard`
// for per-rank files and by `vkinfer bench --synthetic` for random models.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/core/dtype.h"

namespace vkinfer {

class SafetensorsWriter {
 public:
  void add(const std::string& name, std::vector<int64_t> shape, const std::vector<float>& values,
           DType dtype = DType::kF32);
  // Writes atomically (temp file + rename), with `metadata` in __metadata__.
  void write(const std::filesystem::path& path,
             const std::map<std::string, std::string>& metadata = {}) const;
  uint64_t data_bytes() const { return data_.size(); }

 private:
  struct Entry {
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t begin, end;
  };
  std::map<std::string, Entry> entries_;
  std::vector<uint8_t> data_;
};

}  // namespace vkinfer
