// libFuzzer target: SafetensorsFile::open on arbitrary bytes. The bytes are
// put in an anonymous memory file (memfd) and opened by its /proc path, so
// the real open/fstat/mmap path runs, with nothing added to the engine.
// Every tensor handed out is then read in full: a TensorInfo whose data or
// byte_size escaped validation shows up as an ASan read past the mapping.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "engine/core/error.h"
#include "engine/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("safetensors_fuzz", MFD_CLOEXEC);
  if (fd < 0) {
    std::perror("memfd_create");
    __builtin_trap();
  }
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) __builtin_trap();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto file = vkinfer::SafetensorsFile::open(path);
    uint8_t checksum = 0;
    for (const auto& [name, info] : file->tensors()) {
      if (name != info.name) __builtin_trap();
      for (size_t i = 0; i < info.byte_size; ++i) checksum ^= info.data[i];
    }
    for (const auto& [name, dtype] : file->unreadable()) checksum ^= static_cast<uint8_t>(name.size() + dtype.size());
    // Keeps the reads from being optimised away.
    volatile uint8_t sink = checksum;
    (void)sink;
  } catch (const vkinfer::Error&) {
    // A clear, typed error is the expected outcome for garbage.
  }
  return 0;
}
