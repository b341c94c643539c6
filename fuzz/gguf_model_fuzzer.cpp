// libFuzzer target: a GGUF file read as a model, past the reader that
// gguf_fuzzer covers: the metadata turned into config.json (gguf_config)
// and through ModelConfig::parse, every mapped tensor read in its HF view
// (un-permuted, transposed, dequantized) and as raw blocks, and the
// tokenizer metadata turned into tokenizer.json and built and run. Only
// vkinfer::Error may come out.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/gguf.h"
#include "engine/io/gguf_checkpoint.h"
#include "engine/io/gguf_config.h"
#include "engine/io/gguf_tokenizer.h"
#include "engine/model/config.h"
#include "engine/text/tokenizer.h"

namespace {

template <typename Body>
void guarded(Body&& body) {
  try {
    body();
  } catch (const vkinfer::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("gguf_model_fuzz", MFD_CLOEXEC);
  if (fd < 0) {
    std::perror("memfd_create");
    __builtin_trap();
  }
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) __builtin_trap();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  guarded([&] {
    auto file = vkinfer::GgufFile::open(path);
    guarded([&] { vkinfer::ModelConfig::parse(vkinfer::gguf_hf_config(*file), path); });
    guarded([&] {
      auto checkpoint = vkinfer::GgufCheckpoint::open(path);
      float sum = 0;
      for (const std::string& name : checkpoint->names()) {
        guarded([&] {
          for (float v : checkpoint->read_f32(name)) sum += v;
        });
        guarded([&] {
          const auto& info = checkpoint->info(name);
          if (info.shape.size() != 2 || !checkpoint->block_type(name)) return;
          std::vector<uint8_t> row(static_cast<size_t>(info.shape[0] + info.shape[1]) * 256);
          checkpoint->read_blocks(name, 0, 1, 0, 256, row.data(), row.size());
        });
      }
      volatile float sink = sum;
      (void)sink;
    });
    guarded([&] {
      if (!vkinfer::gguf_has_tokenizer(*file)) return;
      const auto files = vkinfer::gguf_tokenizer_files(*file);
      const auto tokenizer = vkinfer::Tokenizer::from_json(files.tokenizer, files.tokenizer_config,
                                                           nlohmann::json::object(), path);
      const auto ids = tokenizer->encode("Hello world, <s> 12345 \xe2\x98\x83").ids;
      (void)tokenizer->decode(ids, true);
    });
  });
  return 0;
}
