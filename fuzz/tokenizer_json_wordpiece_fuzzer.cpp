// libFuzzer target: tokenizer.json with WordPiece (BERT).
// The input format is described in fuzz/tokenizer_harness.h.
#include "fuzz/tokenizer_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vkinfer::fuzz::TokenizerTarget target{{"tokenizer.json", "tokenizer_config.json"}, "\"WordPiece\""};
  return vkinfer::fuzz::run_tokenizer_input(target, data, size);
}
