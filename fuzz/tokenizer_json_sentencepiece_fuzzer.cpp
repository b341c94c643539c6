// libFuzzer target: tokenizer.json with SentencePiece-style BPE and byte
// fallback (Llama); inputs without the U+2581 space marker are skipped.
// The input format is described in fuzz/tokenizer_harness.h.
#include "fuzz/tokenizer_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vkinfer::fuzz::TokenizerTarget target{{"tokenizer.json", "tokenizer_config.json"}, "\xE2\x96\x81"};
  return vkinfer::fuzz::run_tokenizer_input(target, data, size);
}
