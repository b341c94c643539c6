// libFuzzer target: GgufFile::open on arbitrary bytes, through a memfd like
// safetensors_fuzzer, so the real open/fstat/mmap path runs. Every tensor
// handed out is read in full and dequantized (a GgufTensor whose data or
// byte_size escaped validation shows up as an ASan read past the mapping),
// and every metadata value goes through the typed getters, which may only
// throw vkinfer::Error.
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/gguf.h"
#include "engine/weights/block_formats.h"

namespace {

uint8_t touch(const vkinfer::GgufValue& value) {
  uint8_t sum = static_cast<uint8_t>(value.bits) ^ static_cast<uint8_t>(value.string.size());
  try {
    if (value.type != vkinfer::GgufValueType::kString && value.type != vkinfer::GgufValueType::kArray) {
      sum ^= static_cast<uint8_t>(std::bit_cast<uint64_t>(value.as_double()));
    }
  } catch (const vkinfer::Error&) {
  }
  for (const auto& element : value.array) sum ^= touch(element);
  return sum;
}

template <typename Get>
void try_get(Get&& get) {
  try {
    get();
  } catch (const vkinfer::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("gguf_fuzz", MFD_CLOEXEC);
  if (fd < 0) {
    std::perror("memfd_create");
    __builtin_trap();
  }
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) __builtin_trap();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto file = vkinfer::GgufFile::open(path);
    uint8_t checksum = 0;
    for (const auto& entry : file->metadata()) {
      const std::string& key = entry.first;  // clang 14 lambdas cannot capture a structured binding
      checksum ^= touch(entry.second);
      try_get([&] { checksum ^= static_cast<uint8_t>(file->get_string(key).size()); });
      try_get([&] { checksum ^= static_cast<uint8_t>(file->get_u32(key)); });
      try_get([&] { checksum ^= static_cast<uint8_t>(file->get_i32(key)); });
      try_get([&] { checksum ^= static_cast<uint8_t>(file->get_u64(key)); });
      try_get([&] { checksum ^= static_cast<uint8_t>(std::bit_cast<uint32_t>(file->get_f32(key))); });
      try_get([&] { checksum ^= static_cast<uint8_t>(file->get_bool(key)); });
      try_get([&] { checksum ^= static_cast<uint8_t>(file->get_strings(key).size()); });
      try_get([&] { checksum ^= static_cast<uint8_t>(file->get_ints(key).size()); });
      try_get([&] { checksum ^= static_cast<uint8_t>(file->get_floats(key).size()); });
    }
    for (const vkinfer::GgufTensor& tensor : file->tensors()) {
      if (file->find(tensor.name) != &tensor) __builtin_trap();
      for (size_t i = 0; i < tensor.byte_size; ++i) checksum ^= tensor.data[i];
      // Validation bounds elements by the file size (at most ~2 weights per
      // byte), so this allocation is small.
      const std::vector<float> values =
          vkinfer::dequantize(tensor.type, {tensor.data, tensor.byte_size}, tensor.elements());
      for (float v : values) checksum ^= static_cast<uint8_t>(v == v);
    }
    // Keeps the reads from being optimised away.
    volatile uint8_t sink = checksum;
    (void)sink;
  } catch (const vkinfer::Error&) {
    // A clear, typed error is the expected outcome for garbage.
  }
  return 0;
}
