// libFuzzer target: the classic byte-level BPE files (vocab.json +
// merges.txt, as GPT2Tokenizer reads them).
// The input format is described in fuzz/tokenizer_harness.h.
#include "fuzz/tokenizer_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vkinfer::fuzz::TokenizerTarget target{{"vocab.json", "merges.txt", "tokenizer_config.json"}, ""};
  return vkinfer::fuzz::run_tokenizer_input(target, data, size);
}
