// A read-only memory map of a whole regular file, unmapped when it goes:
// the one place the file readers (safetensors, GGUF) open, check and map a
// file, so each reader only parses bytes.
#pragma once

#include <cstdint>
#include <filesystem>

namespace vkinfer {

class MappedFile {
 public:
  // kBadFile when `path` cannot be opened, is not a regular file, or is
  // shorter than `min_bytes` (the smallest valid `format` file).
  static MappedFile open(const std::filesystem::path& path, uint64_t min_bytes, const char* format);

  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace vkinfer
