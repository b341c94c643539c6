#include "engine/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/core/error.h"

namespace vkinfer {

MappedFile MappedFile::open(const std::filesystem::path& path, uint64_t min_bytes, const char* format) {
  const std::string file = path.string();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(ErrorCode::kBadFile, "{}: cannot open ({})", file, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorCode::kBadFile, "{}: not a regular file", file);
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < min_bytes) {
    ::close(fd);
    fail(ErrorCode::kBadFile, "{}: file is {} bytes, too short for a {} header (needs at least {})", file,
         file_size, format, min_bytes);
  }
  void* mapping = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int mmap_errno = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (mapping == MAP_FAILED)
    fail(ErrorCode::kBadFile, "{}: cannot mmap {} bytes ({})", file, file_size, std::strerror(mmap_errno));
  MappedFile result;
  result.data_ = static_cast<const uint8_t*>(mapping);
  result.size_ = file_size;
  return result;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace vkinfer
