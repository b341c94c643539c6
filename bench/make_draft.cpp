// make_draft SRC DST LAYERS: a draft model for `vkinfer generate
// --draft-model` from a decoder folder, keeping its first LAYERS layers and
// its embeddings and head (tests/support/draft_model.h).
#include <cstdio>
#include <string>

#include "engine/core/error.h"
#include "tests/support/draft_model.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: make_draft SRC DST LAYERS\n");
    return 2;
  }
  try {
    vkinfer::testing::write_first_layers(argv[1], argv[2], std::stoll(argv[3]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_draft: %s\n", e.what());
    return 1;
  }
  return 0;
}
