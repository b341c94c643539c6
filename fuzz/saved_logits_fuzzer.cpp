// libFuzzer target: SavedLogitsReader::open (the --kl-base file of `vkinfer
// perplexity`) on arbitrary bytes, through a memfd like gguf_fuzzer, so the
// real open/fstat/mmap path runs. Every row a file that passed validation
// announces is read in full: a header whose sizes escaped the checks shows
// up as an ASan read past the mapping. Only vkinfer::Error may come out.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/saved_logits.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("saved_logits_fuzz", MFD_CLOEXEC);
  if (fd < 0) {
    std::perror("memfd_create");
    __builtin_trap();
  }
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) __builtin_trap();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    const vkinfer::SavedLogitsReader reader = vkinfer::SavedLogitsReader::open(path);
    const vkinfer::SavedLogitsHeader& h = reader.header();
    if (static_cast<int64_t>(h.tokens.size()) != h.windows * h.ctx) __builtin_trap();
    // Validation ties rows x vocab to the file size, so this is small.
    std::vector<float> row(static_cast<size_t>(h.vocab));
    uint8_t checksum = 0;
    for (int64_t r = 0; r < h.rows(); ++r) {
      reader.row(r, row.data());
      for (float v : row) checksum ^= static_cast<uint8_t>(v == v);
    }
    volatile uint8_t sink = checksum;  // keeps the reads
    (void)sink;
  } catch (const vkinfer::Error&) {
    // A clear, typed error is the expected outcome for garbage.
  }
  return 0;
}
